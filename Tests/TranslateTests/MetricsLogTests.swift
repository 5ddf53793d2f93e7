import Foundation
import TestSupport
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

@testable import translate

/// Collects the elements of an XML document by name.
private final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var polylinePoints: [String] = []
    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
        qualifiedName: String?, attributes: [String: String] = [:]
    ) {
        counts[name, default: 0] += 1
        if name == "polyline", let points = attributes["points"] { polylinePoints.append(points) }
    }
}

@Suite("Training metrics log and plot")
struct MetricsLogTests {
    @Test("records append as JSON lines and read back; a torn last line is skipped")
    func appendAndRead() throws {
        let folder = try TemporaryDirectory()
        let log = MetricsLog(directory: folder.url.path)
        try log.append(["update": 1, "loss": 9.5, "lr": 1e-5])
        try log.append(["update": 2, "loss": 9.1, "lr": 2e-5, "valid_loss": 8.8, "valid_bleu": 0.4])
        let handle = try #require(FileHandle(forWritingAtPath: log.path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"update\": 3, \"lo".utf8))
        try handle.close()
        let records = log.records()
        #expect(records.count == 2)
        #expect(records[1]["valid_bleu"] == 0.4)
        let firstLine = try String(contentsOfFile: log.path, encoding: .utf8).prefix { $0 != "\n" }
        #expect(firstLine.hasPrefix("{\"loss\":9.5,\"lr\":"))
    }

    @Test("the plot is well-formed SVG with one line per series that has data, inside its box")
    func plot() throws {
        let folder = try TemporaryDirectory()
        let log = MetricsLog(directory: folder.url.path)
        for update in 1...20 {
            var record: [String: Double] = ["update": Double(update), "loss": 10 / Double(update)]
            if update % 5 == 0 {
                record["valid_loss"] = 12 / Double(update)
                record["valid_bleu"] = Double(update)
            }
            try log.append(record)
        }
        try log.writePlot()
        let data = try Data(contentsOf: folder.url.appendingPathComponent("metrics.svg"))
        let counter = ElementCounter()
        let parser = XMLParser(data: data)
        parser.delegate = counter
        #expect(parser.parse())
        #expect(counter.counts["svg"] == 1)
        #expect(counter.counts["polyline"] == 3)
        for points in counter.polylinePoints {
            for pair in points.split(separator: " ") {
                let xy = pair.split(separator: ",").compactMap { Double($0) }
                #expect(xy.count == 2 && (0...720).contains(xy[0]) && (0...520).contains(xy[1]))
            }
        }
        // The training loss falls, so its line rises on screen: y grows along the polyline.
        let trainYs = counter.polylinePoints[0].split(separator: " ").map { Double($0.split(separator: ",")[1])! }
        #expect(trainYs == trainYs.sorted())
    }

    @Test("an empty log still gives a valid plot saying there is no data")
    func emptyPlot() throws {
        let folder = try TemporaryDirectory()
        let svg = MetricsLog(directory: folder.url.path).plot().svg()
        #expect(XMLParser(data: Data(svg.utf8)).parse())
        #expect(svg.contains("no data yet"))
    }
}

import BLEU
import CLI
import Foundation

/// A named stream of lines: a system's hypotheses or one reference stream.
struct NamedLines {
    var name: String
    var lines: [String]
}

/// Reading references and hypotheses the way sacreBLEU's command line does: files split on `\n`
/// only, stdin with universal newlines, every line `rstrip()`ped.
enum Inputs {
    /// The reference streams: one per REF file, or `count` tab-separated columns of one file.
    static func references(_ files: [String], count: Int) throws -> (streams: [NamedLines], files: [String]) {
        if count == 1 {
            return (try files.map { NamedLines(name: $0, lines: try readFile($0)) }, files)
        }
        let file = files[0]
        var streams = (1...count).map { NamedLines(name: "\(file) (reference \($0))", lines: []) }
        for (index, line) in try readFile(file).enumerated() {
            let fields = line.split(separator: "\t", maxSplits: count - 1, omittingEmptySubsequences: false)
            guard fields.count == count else {
                throw RuntimeError("\(file): line \(index + 1): expected \(count) tab-separated references, found \(fields.count)")
            }
            for k in 0..<count { streams[k].lines.append(String(fields[k])) }
        }
        return (streams, files)
    }

    /// The systems: one per -i file, or one per tab-separated column of stdin.
    static func systems(_ files: [String]?, paired: Bool) throws -> [NamedLines] {
        guard let files else { return try standardInputSystems() }
        var systems: [NamedLines] = []
        for file in files {
            if systems.contains(where: { $0.name == file }) {
                if paired && file == systems[0].name { continue }  // the baseline given again
                throw RuntimeError("'\(file)' is given twice; each system needs its own file name")
            }
            systems.append(NamedLines(name: file, lines: try readFile(file)))
        }
        return systems
    }

    static func readFile(_ path: String) throws -> [String] {
        try TextFile.readLines(atPath: path).map(PythonText.rstrip)
    }

    /// Stdin as sacreBLEU reads it: universal newlines; the first line's tab-separated fields
    /// give the number of systems, and every line must have as many.
    private static func standardInputSystems() throws -> [NamedLines] {
        var lines: [String] = []
        for line in try TextFile.readStandardInputLines() {
            // Split on \n already; a \r before it belongs to a \r\n, any other \r ends a line.
            var scalars = line.unicodeScalars
            if scalars.last == "\r" { scalars.removeLast() }
            for piece in scalars.split(separator: "\r", omittingEmptySubsequences: false) {
                lines.append(String(String.UnicodeScalarView(piece)))
            }
        }
        let first = lines.first ?? ""
        let firstFields = PythonText.rstrip(first).split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        var systems = (0..<firstFields.count).map { NamedLines(name: "System \($0 + 1)", lines: [firstFields[$0]]) }
        for (index, line) in lines.dropFirst().enumerated() {
            let fields = PythonText.rstrip(line).split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == systems.count else {
                throw RuntimeError(
                    "<stdin>: line \(index + 2): \(fields.count) tab-separated fields, the first line has \(systems.count)")
            }
            for k in 0..<fields.count { systems[k].lines.append(PythonText.rstrip(String(fields[k]))) }
        }
        return systems
    }
}

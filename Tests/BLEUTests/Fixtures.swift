import Foundation
import TestSupport

/// The golden files written by `scripts/golden/bleu_fixtures.py` from sacreBLEU 2.6.0.
enum Fixtures {
    static let folder = packageRoot.appendingPathComponent("Tests/BLEUTests/Fixtures")

    static func decode<T: Decodable>(_ type: T.Type, _ name: String) -> T {
        do {
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            fatalError("fixture \(name): \(error)")
        }
    }

    /// Reads a stream as sacreBLEU's command line does (split on `\n`, `rstrip()` each line),
    /// from `data:<shared data path>` or `fixture:<name>`, with an optional `|empty-every-7`
    /// (every line whose 0-based index is 3 mod 7 emptied).
    static func lines(_ spec: String) -> [String] {
        let parts = spec.split(separator: "|", maxSplits: 1).map(String.init)
        let location = parts[0]
        let url: URL
        if location.hasPrefix("data:") {
            url = sharedData(String(location.dropFirst(5)))
        } else {
            url = folder.appendingPathComponent(String(location.dropFirst(8)))
        }
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { fatalError("cannot read \(url.path)") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        lines = lines.map(pythonRstrip)
        if parts.count > 1 {
            precondition(parts[1] == "empty-every-7", "unknown transform \(parts[1])")
            lines = lines.enumerated().map { $0.offset % 7 == 3 ? "" : $0.element }
        }
        return lines
    }

    /// An independent, slow `str.rstrip()` for reading fixtures (not the code under test).
    static func pythonRstrip(_ line: String) -> String {
        let whitespace: Set<UInt32> = [
            0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2001,
            0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F,
            0x205F, 0x3000,
        ]
        var scalars = Array(line.unicodeScalars)
        while let last = scalars.last, whitespace.contains(last.value) { scalars.removeLast() }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// sacreBLEU signatures name its version; ours names this tool.
    static func ourSignature(_ sacreBLEUSignature: String) -> String {
        sacreBLEUSignature.replacingOccurrences(of: "version:2.6.0", with: "version:translate-bleu-0.1.0")
    }
}

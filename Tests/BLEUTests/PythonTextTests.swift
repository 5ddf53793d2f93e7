import BLEU
import Testing

/// Our reimplementation of `str.isspace`, `str.lower` and friends against CPython 3.11.
@Suite("Python string semantics")
struct PythonTextTests {
    struct LowerEntry: Decodable { let cp: UInt32; let lower: String }
    struct TextEntry: Decodable { let text: String; let lower: String }
    struct File: Decodable {
        let whitespace: [UInt32]
        let lowercaseTable: [LowerEntry]
        let lowercaseTexts: [TextEntry]
    }

    static let file = Fixtures.decode(File.self, "python_text.json")

    @Test("isspace over all code points")
    func whitespace() {
        let expected = Set(Self.file.whitespace)
        let mismatches = (UInt32(0)...0x10FFFF).filter { cp in
            !(0xD800...0xDFFF).contains(cp) && PythonText.isWhitespace(cp) != expected.contains(cp)
        }
        #expect(mismatches.isEmpty, "U+\(mismatches.prefix(20).map { String($0, radix: 16) })")
    }

    @Test("lower() of every code point, against CPython's table of the ones that change")
    func lowercaseTable() {
        var expectedLower: [UInt32: String] = [:]
        for entry in Self.file.lowercaseTable { expectedLower[entry.cp] = entry.lower }
        // Blocks of 4096 code points separated by spaces: a space between characters keeps each
        // one's lower() independent (no final-sigma context), so one call checks a whole block.
        var mismatches: [String] = []
        for blockStart in stride(from: UInt32(0), through: 0x10FFFF, by: 4096) {
            var input = String.UnicodeScalarView()
            var expected = ""
            for cp in blockStart..<min(blockStart + 4096, 0x110000) where !(0xD800...0xDFFF).contains(cp) {
                let scalar = Unicode.Scalar(cp)!
                input.append(scalar)
                input.append(" ")
                expected += expectedLower[cp] ?? String(Character(scalar))
                expected += " "
            }
            if PythonText.lowercase(String(input)) != expected {
                mismatches.append(String(blockStart, radix: 16))
            }
        }
        #expect(mismatches.isEmpty, "blocks from U+\(mismatches.prefix(20))")
    }

    @Test("lower() with final sigma and multi-character mappings")
    func lowercaseTexts() {
        for entry in Self.file.lowercaseTexts {
            #expect(PythonText.lowercase(entry.text) == entry.lower, "\(entry.text)")
        }
    }

    @Test("split, strip and rstrip")
    func splitting() {
        #expect(PythonText.split(" a\u{A0}b\u{200B}c\u{3000}d ") == ["a", "b\u{200B}c", "d"])
        #expect(PythonText.rstrip("x \u{A0}\u{2028}") == "x")
        #expect(PythonText.rstrip("x\u{200B}") == "x\u{200B}")
        #expect(PythonText.strip("\u{FEFF} x ") == "\u{FEFF} x")
        #expect(PythonText.split("") == [])
    }
}

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
        for cp in UInt32(0)...0x10FFFF where !(0xD800...0xDFFF).contains(cp) {
            #expect(PythonText.isWhitespace(cp) == expected.contains(cp), "U+\(String(cp, radix: 16))")
        }
    }

    @Test("lower() of every code point that changes")
    func lowercaseTable() {
        var mismatches: [String] = []
        for entry in Self.file.lowercaseTable {
            let text = String(Character(Unicode.Scalar(entry.cp)!))
            if PythonText.lowercase(text) != entry.lower { mismatches.append(String(entry.cp, radix: 16)) }
        }
        #expect(mismatches.isEmpty, "U+\(mismatches.prefix(20))")
        // ...and nothing else changes.
        let changing = Set(Self.file.lowercaseTable.map(\.cp))
        for cp in UInt32(0)...0x10FFFF where !(0xD800...0xDFFF).contains(cp) && !changing.contains(cp) {
            let text = String(Character(Unicode.Scalar(cp)!))
            if PythonText.lowercase(text) != text { mismatches.append(String(cp, radix: 16)) }
        }
        #expect(mismatches.isEmpty, "U+\(mismatches.prefix(20))")
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

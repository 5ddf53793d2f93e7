import BLEU
import Testing

/// Tokenizer output against sacreBLEU's, string for string.
@Suite("Tokenizers match sacreBLEU")
struct TokenizerTests {
    struct Case: Decodable, CustomStringConvertible, Sendable {
        let line: String
        let expected: [String: String]

        enum CodingKeys: String, CodingKey { case line }
        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            line = try container.decode(String.self, forKey: AnyKey(stringValue: "line"))
            var expected: [String: String] = [:]
            for tokenizer in Tokenizer.allCases {
                expected[tokenizer.rawValue] = try container.decode(
                    String.self, forKey: AnyKey(stringValue: tokenizer.rawValue))
            }
            self.expected = expected
        }

        var description: String { String(reflecting: line) }
    }

    struct File: Decodable { let cases: [Case] }

    static let cases = Fixtures.decode(File.self, "tokenizers.json").cases

    @Test("edge cases and real lines", arguments: cases)
    func tokenizerOutput(_ testCase: Case) {
        for tokenizer in Tokenizer.allCases {
            #expect(tokenizer(testCase.line) == testCase.expected[tokenizer.rawValue], "tok \(tokenizer.rawValue)")
        }
    }

    @Test("the fixture covers the edge cases the issue lists")
    func coverage() {
        let lines = Self.cases.map(\.line)
        for needle in ["&quot;", "<skipped>", "-\n", "\u{A0}", "\u{200B}", "\u{FEFF}", "😀", "中文", "שלום", "€", "—"] {
            #expect(lines.contains { $0.contains(needle) }, "missing \(needle)")
        }
        #expect(lines.contains("") && lines.contains("   "))
    }

    @Test("zh treats U+2001–U+2A6D as Chinese, as sacreBLEU's u'\\u20000' range does")
    func chineseRangeQuirk() {
        #expect(Tokenizer.chinese("a—b") == "a — b")
        #expect(Tokenizer.chinese("a\u{2000}b") == "a b")  // U+2000 itself is whitespace, not CJK
        #expect(Tokenizer.chinese("x€y") == "x € y")
    }
}

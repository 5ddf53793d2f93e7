import Foundation
import TestSupport
import Testing
import Tokenize

/// decode(encode(s)) must give back s as the model normalises it. The normalised text comes from
/// Debian's
/// `spm_normalize` on the same model (an independent tool), or is worked out by hand for the edge
/// cases.
@Suite("Round trip decode(encode(s))")
struct RoundTripTests {
    /// `spm_normalize --model M` over `lines`, one output line per input line.
    static func normalized(_ lines: [String], model: String) throws -> [String] {
        let input = Data((lines.joined(separator: "\n") + "\n").utf8)
        let out = try Fixtures.spmTool("spm_normalize", ["--model", model], input: input)
        return out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(
            String.init)
    }

    static let files =
        Fixtures.testSets + ["multi30k/val.en", "multi30k/val.de", "wmt/newstest2019.de"]

    @Test(
        "byte-fallback model: every real line round-trips to its normalised form", arguments: files)
    func realLinesByteFallback(file: String) throws {
        let model = try Fixtures.tinyModels().byteFallback
        let lines = try Fixtures.lines(file)
        let expected = try Self.normalized(lines, model: model.path)
        try #require(expected.count == lines.count)
        let encoded = try model.encode(TextBatch(lines))
        let decoded = try model.decode(encoded)
        var failures = 0
        for i in 0..<lines.count where decoded[i] != expected[i] {
            failures += 1
            if failures <= 3 {
                Issue.record("\(file):\(i + 1): decoded \(decoded[i]) expected \(expected[i])")
            }
        }
        #expect(failures == 0)
        // Byte fallback means no unknowns at all.
        #expect(!encoded.ids.contains(Int32(model.specialIds.unk)))
    }

    @Test(
        "reference model: lines without unknown pieces round-trip, via ids and via pieces",
        arguments: files)
    func realLinesReference(file: String) throws {
        let model = try SentencePieceModel(contentsOf: Fixtures.referenceModel)
        let lines = try Fixtures.lines(file)
        let expected = try Self.normalized(lines, model: model.path)
        let ids = try model.encode(TextBatch(lines))
        let fromIds = try model.decode(ids)
        let fromPieces = try model.decode(try model.encodeAsPieces(TextBatch(lines)))
        var withUnknown = 0
        for i in 0..<lines.count {
            if ids[i].contains(Int32(model.specialIds.unk)) {
                withUnknown += 1
                // The unknown surface is " ⁇ " in place of the characters it stands for.
                #expect(fromIds[i].contains("⁇"))
                continue
            }
            #expect(fromIds[i] == expected[i], "\(file):\(i + 1)")
            #expect(fromPieces[i] == expected[i], "\(file):\(i + 1)")
        }
        // The reference model covers the Multi30k alphabet; news text has a few rarer characters.
        #expect(
            withUnknown * 20 < lines.count, "\(withUnknown) of \(lines.count) lines contain unk")
    }

    /// Unicode edge cases with the normalised text worked out by hand from nmt_nfkc (NFKC,
    /// whitespace
    /// collapsed and trimmed, control characters dropped).
    static let edgeCases: [(String, String)] = [
        ("", ""),
        ("   ", ""),
        ("  Hello   world  ", "Hello world"),
        ("tab\tseparated", "tab separated"),
        ("ﬁne ﬂour", "fine flour"),  // ligatures decompose under NFKC
        ("ＡＢＣ １２３", "ABC 123"),  // full-width forms
        ("e\u{301}te\u{301}", "été"),  // combining acute composes
        ("Straße Übergröße", "Straße Übergröße"),
        ("x² ½", "x2 1⁄2"),  // superscript and vulgar fraction under NFKC
        ("emoji 👍🏽 and 👩‍👩‍👧", "emoji 👍🏽 and 👩‍👩‍👧"),
        ("中文 日本語 한국어", "中文 日本語 한국어"),
        ("مرحبا بالعالم", "مرحبا بالعالم"),
        ("a\u{200B}b", "a b"),  // nmt_nfkc maps the zero-width space to a space
        ("„Zitat“ – «guillemets» — ‚x‘", "„Zitat“ – «guillemets» — ‚x‘"),
        ("𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "Unicode"),  // mathematical letters fold to ASCII
    ]

    @Test("Unicode edge cases round-trip with a byte-fallback model", arguments: edgeCases)
    func edgeCase(input: String, expected: String) throws {
        let model = try Fixtures.tinyModels().byteFallback
        let ids = try model.encode(input)
        #expect(try model.decode(ids) == expected)
        #expect(try model.decode(pieces: try model.encodeAsPieces(input)) == expected)
        // The hand-worked form agrees with the independent normaliser.
        if !input.isEmpty {
            #expect(try Self.normalized([input], model: model.path) == [expected])
        }
    }

    @Test(
        "a literal ▁ in the input is SentencePiece's space marker, so it is lost like extra whitespace"
    )
    func literalMetaSymbol() throws {
        let model = try SentencePieceModel(contentsOf: Fixtures.referenceModel)
        // `spm_encode | spm_decode` on the same model gives "already marked" too.
        #expect(try model.decode(try model.encode("\u{2581}already marked")) == "already marked")
    }

    @Test("decoding control ids gives nothing; unknown ids give ⁇")
    func specialIdsDecode() throws {
        let model = try SentencePieceModel(contentsOf: Fixtures.referenceModel)
        let hello = try model.encode("Hello")
        #expect(try model.decode([2] + hello + [3, 0, 0]) == "Hello")
        #expect(try model.decode([1]) == " ⁇ ")
        #expect(throws: TokenizeError.self) { try model.decode([8000]) }
        #expect(throws: TokenizeError.self) { try model.decode([-1]) }
    }
}

import Foundation
import TestSupport
import Testing
import Tokenize

/// The word memo must never change a single id: memo on, memo off and `spm_encode` agree.
@Suite("Word memo")
struct WordMemoTests {
    @Test("the memo is on for spm_train-style models, and off when asked")
    func enabled() throws {
        #expect(try SentencePieceModel(contentsOf: Fixtures.referenceModel).memoizesWords)
        #expect(
            try !SentencePieceModel(contentsOf: Fixtures.referenceModel, memoizingWords: false)
                .memoizesWords)
        let tiny = try Fixtures.tinyModels()
        #expect(
            tiny.unigram.memoizesWords && tiny.bpe.memoizesWords && tiny.byteFallback.memoizesWords)
    }

    /// newstest2014.de line 15 holds "15 000": "000" splits as "00 0" or "0 00" with exactly equal
    /// scores,
    /// and SentencePiece's Viterbi picks by float rounding of the score accumulated before it.
    /// Expected
    /// pieces come from spm_encode on the same line.
    @Test("a line with an exact tie inside a word matches spm_encode")
    func exactTie() throws {
        let model = try SentencePieceModel(contentsOf: Fixtures.referenceModel)
        let line = try Fixtures.lines("wmt/newstest2014.de")[14]
        #expect(line.contains("15 000 Euro"))
        let expected = try Fixtures.spmTool(
            "spm_encode", ["--model", model.path], input: Data((line + "\n").utf8))
        // Encode twice: the second time every word comes from the memo.
        for _ in 0..<2 {
            #expect(
                try model.encodeAsPieces(TextBatch([line]))[0].joined(separator: " ") + "\n"
                    == expected)
        }
    }

    @Test(
        "memo on and off give the same ids on real text, cold and warm, one thread and two",
        arguments: [
            "multi30k/val.en", "multi30k/val.de", "wmt/newstest2013.en", "wmt/newstest2013.de",
        ])
    func sameIds(file: String) throws {
        let lines = TextBatch(try Fixtures.lines(file))
        let plain = try SentencePieceModel(
            contentsOf: Fixtures.referenceModel, memoizingWords: false)
        let memo = try SentencePieceModel(contentsOf: Fixtures.referenceModel)
        let expected = try plain.encode(lines)
        #expect(try memo.encode(lines, threads: 2) == expected)  // cold, filled by two threads
        #expect(try memo.encode(lines) == expected)  // warm
        #expect(try memo.encodeAsPieces(lines) == (try plain.encodeAsPieces(lines)))
    }
}

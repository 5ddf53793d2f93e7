import BLEU
import Testing

/// chrF and chrF++ against sacreBLEU 2.6.0.
@Suite("chrF matches sacreBLEU")
struct CHRFTests {
    struct CorpusCase: Decodable, CustomStringConvertible, Sendable {
        let pair: String
        let hypotheses: String
        let references: [String]
        let wordOrder: Int
        let lowercase: Bool
        let whitespace: Bool
        let epsSmoothing: Bool
        let name: String
        let score: Double
        let signature: String
        var description: String { "\(pair) nw:\(wordOrder) lc:\(lowercase) space:\(whitespace) eps:\(epsSmoothing)" }
    }

    struct File: Decodable {
        let chrf: [CorpusCase]
        let sentences: [BLEUScoreTests.SentenceCase]
    }

    static let file = Fixtures.decode(File.self, "scores.json")

    @Test("corpus chrF within 1e-9, name and signature", arguments: file.chrf)
    func corpus(_ c: CorpusCase) throws {
        let metric = CHRF(wordOrder: c.wordOrder, lowercase: c.lowercase, whitespace: c.whitespace, epsSmoothing: c.epsSmoothing)
        let score = try metric.corpusScore(
            hypotheses: Fixtures.lines(c.hypotheses), references: c.references.map(Fixtures.lines))
        #expect(abs(score - c.score) <= 1e-9, "ours \(score), sacreBLEU \(c.score)")
        #expect(metric.name == c.name)
        #expect(metric.signature(referenceCount: c.references.count).format() == Fixtures.ourSignature(c.signature))
    }

    @Test("sentence chrF and chrF++", arguments: file.sentences)
    func sentence(_ c: BLEUScoreTests.SentenceCase) {
        #expect(abs(CHRF().sentenceScore(hypothesis: c.hypothesis, references: c.references) - c.chrf) <= 1e-9)
        #expect(abs(CHRF(wordOrder: 2).sentenceScore(hypothesis: c.hypothesis, references: c.references) - c.chrfpp) <= 1e-9)
    }
}

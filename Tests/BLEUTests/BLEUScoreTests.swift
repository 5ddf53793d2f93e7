import BLEU
import Foundation
import Testing

/// Corpus and sentence BLEU against sacreBLEU 2.6.0 on real data.
@Suite("BLEU matches sacreBLEU")
struct BLEUScoreTests {
    struct CorpusCase: Decodable, CustomStringConvertible, Sendable {
        let pair: String
        let hypotheses: String
        let references: [String]
        let tokenize: String
        let lowercase: Bool
        let smooth: String
        let smoothValue: Double?
        let effectiveOrder: Bool
        let score: Double
        let counts: [Int]?
        let totals: [Int]?
        let hypLen: Int
        let refLen: Int
        let verbose: String
        let signature: String

        var description: String {
            "\(pair) tok:\(tokenize) lc:\(lowercase) smooth:\(smooth)\(smoothValue.map { "[\($0)]" } ?? "") eff:\(effectiveOrder)"
        }

        var bleu: BLEU {
            BLEU(
                tokenizer: Tokenizer(rawValue: tokenize)!, lowercase: lowercase,
                smoothing: Smoothing(name: smooth, value: smoothValue)!, effectiveOrder: effectiveOrder)
        }
    }

    struct SentenceCase: Decodable, CustomStringConvertible, Sendable {
        let pair: String
        let hypothesis: String
        let references: [String]
        let bleu: Double
        let bleuNoEff: Double
        let bleuFloor: Double
        let bleuAddK: Double
        let bleuNone: Double
        let chrf: Double
        let chrfpp: Double
        var description: String { "\(pair): \(hypothesis.prefix(40))" }
    }

    struct Readme: Decodable, Sendable {
        let hypotheses: [String]
        let references: [[String]]
        let score: Double
    }

    struct File: Decodable {
        let readme: Readme
        let bleu: [CorpusCase]
        let sentences: [SentenceCase]
    }

    static let file = Fixtures.decode(File.self, "scores.json")

    /// Every stream the cases name, read once.
    static let streams: [String: [String]] = {
        var specs = Set<String>()
        for c in file.bleu {
            specs.insert(c.hypotheses)
            specs.formUnion(c.references)
        }
        return Dictionary(uniqueKeysWithValues: specs.map { ($0, Fixtures.lines($0)) })
    }()

    @Test("sacreBLEU's README example scores 48.530827")
    func readmeExample() throws {
        let example = Self.file.readme
        let score = try BLEU().corpusScore(hypotheses: example.hypotheses, references: example.references)
        #expect(abs(score.score - 48.530827) < 1e-6)
        #expect(abs(score.score - example.score) < 1e-9)
    }

    /// Cases that share data, tokenizer and case, so the statistics are computed once for all
    /// their smoothing settings.
    struct CaseGroup: CustomStringConvertible, Sendable {
        let cases: [CorpusCase]
        var description: String { "\(cases[0].pair) tok:\(cases[0].tokenize) lc:\(cases[0].lowercase)" }
    }

    static let groups: [CaseGroup] = {
        var order: [String] = []
        var byKey: [String: [CorpusCase]] = [:]
        for c in file.bleu {
            let key = "\(c.pair)|\(c.tokenize)|\(c.lowercase)"
            if byKey[key] == nil { order.append(key) }
            byKey[key, default: []].append(c)
        }
        return order.map { CaseGroup(cases: byKey[$0]!) }
    }()

    @Test("corpus BLEU within 1e-9 for each smoothing, same counts, verbose line and signature", arguments: groups)
    func corpus(_ group: CaseGroup) throws {
        let first = group.cases[0]
        let hypotheses = Self.streams[first.hypotheses]!
        let references = first.references.map { Self.streams[$0]! }
        let statistics = try first.bleu.corpusStatistics(hypotheses: hypotheses, references: references)
        for c in group.cases {
            let bleu = c.bleu
            let score = bleu.score(statistics)
            #expect(abs(score.score - c.score) <= 1e-9, "\(c): ours \(score.score), sacreBLEU \(c.score)")
            if let counts = c.counts, let totals = c.totals {
                #expect(statistics.correct == counts)
                #expect(statistics.total == totals)
            }
            #expect(statistics.hypothesisLength == c.hypLen)
            #expect(statistics.referenceLength == c.refLen)
            #expect(score.verbose == c.verbose, "\(c)")
            #expect(bleu.signature(referenceCount: references.count).format() == Fixtures.ourSignature(c.signature))
        }
    }

    @Test("sentence BLEU with each smoothing", arguments: file.sentences)
    func sentence(_ c: SentenceCase) {
        let expectations: [(BLEU, Double)] = [
            (BLEU(effectiveOrder: true), c.bleu),
            (BLEU(), c.bleuNoEff),
            (BLEU(smoothing: .defaultFloor, effectiveOrder: true), c.bleuFloor),
            (BLEU(smoothing: .defaultAddK, effectiveOrder: true), c.bleuAddK),
            (BLEU(smoothing: .none, effectiveOrder: true), c.bleuNone),
        ]
        for (bleu, expected) in expectations {
            let score = bleu.sentenceScore(hypothesis: c.hypothesis, references: c.references).score
            #expect(abs(score - expected) <= 1e-9, "\(bleu.smoothing) eff:\(bleu.effectiveOrder): \(score) vs \(expected)")
        }
    }

    @Test("statistics add up across batches to the corpus score")
    func batchesAddUp() throws {
        let hypotheses = Self.streams["fixture:newstest2021.perturbed.de"]!
        let references = [Self.streams["data:wmt/newstest2021.de"]!]
        let bleu = BLEU()
        let whole = try bleu.corpusStatistics(hypotheses: hypotheses, references: references)
        for batch in [64, 7, 1] {
            var sum = NGramStatistics.zero
            for start in stride(from: 0, to: hypotheses.count, by: batch) {
                let end = min(start + batch, hypotheses.count)
                sum += try bleu.corpusStatistics(
                    hypotheses: Array(hypotheses[start..<end]), references: [Array(references[0][start..<end])])
            }
            #expect(sum == whole, "batches of \(batch)")
            #expect(bleu.score(sum).score == bleu.score(whole).score)
        }
    }

    @Test("results do not depend on the number of threads")
    func threadIndependence() throws {
        let hypotheses = Self.streams["fixture:newstest2021.perturbed.de"]!
        let references = [
            Self.streams["data:wmt/newstest2021.de"]!, Self.streams["data:wmt/newstest2021.refC.de"]!,
        ]
        let bleu = BLEU(tokenizer: .international)
        let one = try bleu.segmentStatistics(hypotheses: hypotheses, references: references, threads: 1)
        for threads in [2, 3, 8] {
            #expect(try bleu.segmentStatistics(hypotheses: hypotheses, references: references, threads: threads) == one)
        }
    }

    @Test("a reference stream of the wrong length is rejected")
    func lengthMismatch() {
        #expect(throws: BLEUError.lengthMismatch(hypotheses: 2, referenceStream: 1, references: 1)) {
            try BLEU().corpusScore(hypotheses: ["a", "b"], references: [["a", "b"], ["a"]])
        }
        #expect(throws: BLEUError.noReferences) { try BLEU().corpusScore(hypotheses: ["a"], references: []) }
    }

    @Test("hand-computed: empty hypotheses score 0, a perfect match scores 100")
    func handComputed() throws {
        #expect(try BLEU().corpusScore(hypotheses: ["", ""], references: [["a b", "c"]]).score == 0)
        let perfect = try BLEU().corpusScore(hypotheses: ["the cat sat on the mat"], references: [["the cat sat on the mat"]])
        #expect(abs(perfect.score - 100) < 1e-12)
        // 3 of 4 unigrams, 1 of 3 bigrams, no trigram (exp: 1/(2*2)), no 4-gram (1/(4*1)); BP = 1.
        let s = try BLEU().corpusScore(hypotheses: ["a b c d"], references: [["a b x d"]])
        let expected = exp((log(75.0) + log(100.0 / 3) + log(100.0 / 4) + log(100.0 / 4)) / 4)
        #expect(abs(s.score - expected) < 1e-12)
    }
}

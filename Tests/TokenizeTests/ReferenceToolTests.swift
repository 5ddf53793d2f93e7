import Foundation
import TestSupport
import Testing
import Tokenize

/// Ids and pieces must equal those of Debian's `spm_encode` (the independent SentencePiece tool) on
/// the same
/// model, for every line of the real test sets.
@Suite("Encoding matches spm_encode")
struct ReferenceToolTests {
    /// Which model a case uses.
    enum ModelChoice: String, CaseIterable, CustomStringConvertible, Sendable {
        case reference = "spm8k.model (shared reference)"
        case unigram = "unigram 1k trained here"
        case bpe = "bpe 1k trained here"
        var description: String { rawValue }

        func model() throws -> SentencePieceModel {
            switch self {
            case .reference: return try SentencePieceModel(contentsOf: Fixtures.referenceModel)
            case .unigram: return try Fixtures.tinyModels().unigram
            case .bpe: return try Fixtures.tinyModels().bpe
            }
        }
    }

    static let cases: [(ModelChoice, String)] = ModelChoice.allCases.flatMap { model in
        Fixtures.testSets.map { (model, $0) }
    }

    @Test("ids equal spm_encode --output_format id", arguments: cases)
    func ids(model choice: ModelChoice, file: String) throws {
        let model = try choice.model()
        let lines = try Fixtures.lines(file)
        let ours = try model.encode(TextBatch(lines))
        let expected = try Fixtures.spmTool(
            "spm_encode", ["--model", model.path, "--output_format", "id", sharedData(file).path]
        )
        .split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(expected.count == lines.count)
        var mismatches = 0
        for i in 0..<lines.count {
            let text = ours[i].map(String.init).joined(separator: " ")
            if text != expected[i] {
                mismatches += 1
                if mismatches <= 3 {
                    Issue.record("\(file):\(i + 1): ours \(text), spm_encode \(expected[i])")
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test("pieces equal spm_encode --output_format piece", arguments: cases)
    func pieces(model choice: ModelChoice, file: String) throws {
        let model = try choice.model()
        let lines = try Fixtures.lines(file)
        let ours = try model.encodeAsPieces(TextBatch(lines))
        let expected = try Fixtures.spmTool(
            "spm_encode",
            ["--model", model.path, "--output_format", "piece", sharedData(file).path]
        )
        .split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(expected.count == lines.count)
        var mismatches = 0
        for i in 0..<lines.count where ours[i].joined(separator: " ") != expected[i] {
            mismatches += 1
            if mismatches <= 3 {
                Issue.record("\(file):\(i + 1): ours \(ours[i]), spm_encode \(expected[i])")
            }
        }
        #expect(mismatches == 0)
    }

    @Test("single-line API agrees with the batch API and with threads")
    func singleLineAndThreads() throws {
        let model = try SentencePieceModel(contentsOf: Fixtures.referenceModel)
        let lines = try Fixtures.lines("multi30k/test2016.de")
        let oneThread = try model.encode(TextBatch(lines), threads: 1)
        let twoThreads = try model.encode(TextBatch(lines), threads: 2)
        #expect(oneThread == twoThreads)
        for i in stride(from: 0, to: lines.count, by: 97) {
            #expect(try model.encode(lines[i]) == oneThread[i].map { Int($0) })
            #expect(
                try model.encodeAsPieces(lines[i]).map { model.id(for: $0) }
                    == oneThread[i].map { Int($0) })
        }
    }

    @Test("n-best ids equal spm_encode --output_format nbest_id")
    func nBest() throws {
        let model = try SentencePieceModel(contentsOf: Fixtures.referenceModel)
        let lines = Array(try Fixtures.lines("multi30k/test2016.en").prefix(50))
        let input = Data((lines.joined(separator: "\n") + "\n").utf8)
        let expected = try Fixtures.spmTool(
            "spm_encode",
            ["--model", model.path, "--output_format", "nbest_id", "--nbest_size", "4"],
            input: input
        )
        .split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        var ours: [String] = []
        for line in lines {
            let hypotheses = try model.nBest(line, count: 4)
            #expect(hypotheses.first == (try model.encode(line)))
            ours += hypotheses.map { $0.map(String.init).joined(separator: " ") }
        }
        #expect(ours == expected)
    }

    @Test("vocabulary and special ids equal the .vocab file and the convention")
    func vocabulary() throws {
        let model = try SentencePieceModel(contentsOf: Fixtures.referenceModel)
        let vocab = try String(
            contentsOf: sharedRoot.appendingPathComponent("reference/spm8k.vocab"), encoding: .utf8
        ).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(model.vocabularySize == 8000)
        #expect(vocab.count == 8000)
        for (id, entry) in vocab.enumerated() {
            #expect(model.piece(for: id) == String(entry[0]))
            #expect(model.id(for: String(entry[0])) == id)
        }
        #expect(model.specialIds == SpecialIds(pad: 0, unk: 1, bos: 2, eos: 3))
        #expect(model.kind(of: 0) == .control)
        #expect(model.kind(of: 1) == .unknown)
        #expect(model.kind(of: 4) == .normal)
        #expect(model.piece(for: 8000) == nil)
        #expect(model.kind(of: -1) == nil)
        #expect(model.id(for: "no-such-piece-xyz") == 1)
        #expect(abs(model.score(of: 4) - -2.7251) < 1e-4)  // .vocab prints 6 digits
    }
}

import Foundation
import TestSupport
import Testing
import Tokenize

extension Tag {
    /// Tests that take more than a few seconds (e.g. training on all of Multi30k); they run only
    /// when
    /// `TRANSLATE_SLOW_TESTS=1`, as scripts/test documents.
    @Tag static var slow: Self
}

/// Whether slow tests were asked for (`TRANSLATE_SLOW_TESTS=1`).
let slowTestsEnabled = ProcessInfo.processInfo.environment["TRANSLATE_SLOW_TESTS"] == "1"

/// Shared inputs: real data files, Debian's SentencePiece tools as the independent reference, and
/// small
/// models trained once per test run.
enum Fixtures {
    /// The toolkit's reference joint model (8,000 pieces, pad 0, unk 1, bos 2, eos 3).
    static let referenceModel = sharedRoot.appendingPathComponent("reference/spm8k.model").path

    /// The real test sets every comparison runs over, whole.
    static let testSets = [
        "multi30k/test2016.en", "multi30k/test2016.de", "wmt/newstest2014.en",
        "wmt/newstest2014.de",
    ]

    /// The lines of a shared data file (without the final newline).
    static func lines(_ relativePath: String) throws -> [String] {
        let text = try String(contentsOf: sharedData(relativePath), encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Runs one of Debian's `spm_*` tools and returns its stdout; fails the test on a non-zero
    /// exit.
    static func spmTool(_ name: String, _ arguments: [String], input: Data? = nil) throws -> String
    {
        let result = try runProcess(
            URL(fileURLWithPath: "/usr/bin/\(name)"), arguments, input: input)
        guard result.status == 0 else {
            throw FixtureError(
                message: "\(name) \(arguments) exited \(result.status): \(result.standardError)")
        }
        return result.standardOutput
    }

    /// Small models trained on the first 3,000 lines of Multi30k train (EN and DE), vocabulary
    /// 1,000.
    static let tiny: Result<TinyModels, any Error> = Result { try TinyModels() }

    static func tinyModels() throws -> TinyModels { try tiny.get() }
}

struct FixtureError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Models trained once for the whole run, in a temporary folder kept until the process ends.
final class TinyModels: Sendable {
    let directory: TemporaryDirectory
    let inputs: [String]
    let unigram: SentencePieceModel
    let bpe: SentencePieceModel
    /// Unigram with byte fallback: every character round-trips, none becomes unk.
    let byteFallback: SentencePieceModel

    init() throws {
        directory = try TemporaryDirectory()
        var inputs: [String] = []
        for language in ["en", "de"] {
            let lines = try Fixtures.lines("multi30k/train.\(language)").prefix(3000)
            inputs.append(
                try directory.write("train3k.\(language)", lines.joined(separator: "\n") + "\n"))
        }
        self.inputs = inputs
        var options = TrainingOptions()
        options.vocabularySize = 1000
        unigram = try SentencePieceModel.train(
            inputs: inputs, modelPrefix: directory.path("unigram"), options: options)
        options.modelType = .bpe
        bpe = try SentencePieceModel.train(
            inputs: inputs, modelPrefix: directory.path("bpe"), options: options)
        options.modelType = .unigram
        options.byteFallback = true
        byteFallback = try SentencePieceModel.train(
            inputs: inputs, modelPrefix: directory.path("bytes"), options: options)
    }
}

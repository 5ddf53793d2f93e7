import Foundation
import Seq2Seq
import TestSupport
import Testing

extension Tag {
    /// Tests that take more than a few seconds; they run only when `TRANSLATE_SLOW_TESTS=1` (scripts/test).
    @Tag static var slow: Self
}

/// Whether slow tests were asked for.
private let slowTestsEnabled = ProcessInfo.processInfo.environment["TRANSLATE_SLOW_TESTS"] == "1"

@Suite("Model training sanity")
struct ModelOverfitTests {
    /// The first `count` Multi30k training pairs as word ids (a word vocabulary built from them; ids from 4).
    static func pairs(_ count: Int) throws -> (sources: [[Int]], targets: [[Int]], vocabulary: Int) {
        func lines(_ name: String) throws -> [String] {
            Array(try String(contentsOf: sharedData("multi30k/" + name), encoding: .utf8).split(separator: "\n").prefix(count).map(String.init))
        }
        var ids: [String: Int] = [:]
        func encode(_ line: String) -> [Int] {
            line.lowercased().split(separator: " ").map { word in
                if let id = ids[String(word)] { return id }
                ids[String(word)] = ids.count + 4
                return ids.count + 3
            }
        }
        let sources = try lines("train.en").map(encode)
        let targets = try lines("train.de").map(encode)
        return (sources, targets, ids.count + 4)
    }

    @Test(
        "Luna overfits eight real sentence pairs, and greedy search then reproduces them",
        .tags(.slow), .enabled(if: slowTestsEnabled))
    func overfit() throws {
        let (sources, targets, vocabulary) = try Self.pairs(8)
        var configuration = ModelConfiguration(
            arch: .luna, vocabularySize: vocabulary, modelDimension: 32, encoderLayers: 2, decoderLayers: 2,
            attentionHeads: 4, ffnDimension: 64, projectionLength: 8)
        configuration.dropout = 0
        configuration.attentionDropout = 0
        configuration.activationDropout = 0
        let model = EncoderDecoder(configuration, seed: 11)
        let eos = configuration.eosId
        let pad = configuration.padId
        let source = TokenBatch(rows: sources.map { $0 + [eos] }, padId: pad)
        let previousOutput = TokenBatch(rows: targets.map { [eos] + $0 }, padId: pad)
        let target = TokenBatch(rows: targets.map { $0 + [eos] }, padId: pad)
        let optimizer = Adam(parameters: model.parameters(prefix: ""), beta2: 0.98, epsilon: 1e-9)
        let tape = Tape(seed: 3)
        var perToken = Double.infinity
        for _ in 0..<400 {
            model.zeroGradients()
            let (loss, nll, count) = model.loss(
                source: source, previousOutput: previousOutput, target: target, labelSmoothing: 0, on: tape)
            tape.backward(from: loss, seed: Tensor(scalar: 1 / Float(count)))
            optimizer.update(learningRate: 3e-3)
            perToken = nll / Double(count)
            if perToken < 0.01 { break }
        }
        #expect(perToken < 0.02, "NLL per token after training: \(perToken)")
        var options = DecodingOptions()
        options.beamSize = 1
        let outputs = BeamSearch(options: options).search(model, sources: sources.map { $0 + [eos] })
        #expect(outputs.map { $0[0].tokens } == targets)
    }
}

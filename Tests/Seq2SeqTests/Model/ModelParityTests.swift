import Foundation
import Seq2Seq
import TestSupport
import Testing

// Parity with the independent PyTorch implementation that wrote ../shared/fixtures/luna-parity/
// (tolerances from its README, "How to compare").

/// One fixture folder: the model (loaded through the ordinary model-directory path) and its expectations.
struct ParityFixture: CustomStringConvertible, Sendable {
    let name: String
    var description: String { name }

    static let all = [
        ParityFixture(name: "luna_official"), ParityFixture(name: "luna_preln_elu_untied_softmaxcross"),
        ParityFixture(name: "transformer_postln"), ParityFixture(name: "transformer_preln"),
    ]

    var directory: String { sharedRoot.appendingPathComponent("fixtures/luna-parity/\(name)").path }

    func load() throws -> (model: EncoderDecoder, expected: SafeTensors) {
        let model = try ModelDirectory.load(directory)
        let expected = try SafeTensors(contentsOf: (directory as NSString).appendingPathComponent("expected.safetensors"))
        return (model, expected)
    }
}

/// The batch inputs of a fixture.
struct ParityInputs {
    let source: TokenBatch
    let previousOutput: TokenBatch
    let target: TokenBatch

    init(_ expected: SafeTensors) throws {
        func batch(_ name: String) throws -> TokenBatch {
            let (shape, values) = try expected.integers(name)
            return TokenBatch(ids: values, batchSize: shape[0], length: shape[1])
        }
        source = try batch("input.src_tokens")
        previousOutput = try batch("input.prev_output_tokens")
        target = try batch("input.target")
    }
}

/// Largest |a − b| over the rows `[…, row, :]` of two `[B, T, C]` tensors where `keep(b, t)`.
func maximumDifference(_ a: Tensor, _ b: Tensor, keep: (Int, Int) -> Bool = { _, _ in true }) -> Float {
    precondition(a.shape == b.shape, "maximumDifference: \(a.shape) vs \(b.shape)")
    let (batch, length, width) = (a.shape[0], a.shape[1], a.shape[2])
    var worst: Float = 0
    for i in 0..<batch {
        for t in 0..<length where keep(i, t) {
            for j in 0..<width {
                let index = (i * length + t) * width + j
                let difference = abs(a.scalars[index] - b.scalars[index])
                worst = difference.isNaN ? .infinity : max(worst, difference)
            }
        }
    }
    return worst
}

@Suite("Model parity with the PyTorch reference fixtures")
struct ModelParityTests {
    @Test("encoder output and the encoder's final P", arguments: ParityFixture.all)
    func encoder(fixture: ParityFixture) throws {
        let (model, expected) = try fixture.load()
        let inputs = try ParityInputs(expected)
        let output = model.encode(inputs.source, on: nil)
        let padding = try expected.integers("encoder_padding_mask").values
        let length = inputs.source.length
        let error = maximumDifference(output.states.value, try expected.tensor("encoder_out")) { b, t in
            padding[b * length + t] == 0
        }
        #expect(error <= 1e-4, "encoder_out max |diff| \(error)")
        #expect(output.sourceLengths == (try expected.integers("input.src_lengths").values))
        guard model.configuration.arch == .luna else { return }
        let projected = try #require(output.projected)
        let projectedError = maximumDifference(projected.value, try expected.tensor("encoder_projected_out"))
        #expect(projectedError <= 1e-4, "encoder_projected_out max |diff| \(projectedError)")
        let mask = try #require(output.packedMask)
        let expectedMask = try expected.integers("encoder_projected_padding_mask")
        #expect(mask.scalars.map { Int($0) } == expectedMask.values)
        #expect(mask.shape == [expectedMask.shape[0], 1, 1, expectedMask.shape[1]])
    }

    @Test("decoder log-probabilities and the label-smoothed loss", arguments: ParityFixture.all)
    func decoder(fixture: ParityFixture) throws {
        let (model, expected) = try fixture.load()
        let inputs = try ParityInputs(expected)
        let lprobs = model.logProbabilities(source: inputs.source, previousOutput: inputs.previousOutput)
        let target = inputs.target
        let error = maximumDifference(lprobs.value, try expected.tensor("decoder.lprobs")) { b, t in
            target.ids[b * target.length + t] != model.configuration.padId
        }
        #expect(error <= 1e-4, "decoder.lprobs max |diff| \(error)")

        let (loss, nll, count) = model.loss(
            source: inputs.source, previousOutput: inputs.previousOutput, target: target, labelSmoothing: 0.1, on: nil)
        let expectedLoss = try expected.tensor("loss.sum").scalars[0]
        let expectedNLL = try expected.tensor("loss.nll_sum").scalars[0]
        #expect(abs(loss.value.scalar - expectedLoss) <= 1e-5 * abs(expectedLoss), "loss \(loss.value.scalar) vs \(expectedLoss)")
        #expect(abs(Float(nll) - expectedNLL) <= 1e-5 * abs(expectedNLL), "nll \(nll) vs \(expectedNLL)")
        #expect(count == (try expected.integers("loss.ntokens").values[0]))
    }

    @Test("gradient of loss/ntokens for every parameter", arguments: ParityFixture.all)
    func gradients(fixture: ParityFixture) throws {
        let (model, expected) = try fixture.load()
        let inputs = try ParityInputs(expected)
        model.zeroGradients()
        // Training mode; every dropout in the fixtures is 0, so the pass is deterministic.
        let tape = Tape(seed: 1, isTraining: true)
        let (loss, _, count) = model.loss(
            source: inputs.source, previousOutput: inputs.previousOutput, target: inputs.target, labelSmoothing: 0.1,
            on: tape)
        tape.backward(from: loss, seed: Tensor(scalar: 1 / Float(count)))
        let parameters = model.parameters(prefix: "")
        let expectedNames = Set(expected.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) })
        #expect(Set(parameters.map(\.name)) == expectedNames)
        var worst: (name: String, ratio: Float) = ("", 0)
        for (name, parameter) in parameters {
            let reference = try expected.tensor("grad." + name)
            try #require(reference.shape == parameter.gradient.shape, "\(name): \(parameter.gradient.shape) vs \(reference.shape)")
            let scale = reference.scalars.map(abs).max() ?? 0
            let allowed = 1e-3 * scale + 1e-6
            let difference = zip(parameter.gradient.scalars, reference.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(difference <= allowed, "grad \(name): max |diff| \(difference), allowed \(allowed)")
            if difference / allowed > worst.ratio { worst = (name, difference / allowed) }
        }
        #expect(worst.ratio <= 1, "worst gradient \(worst.name): diff/allowed \(worst.ratio)")
    }

    @Test("incremental log-probabilities, one step at a time", arguments: ParityFixture.all)
    func incremental(fixture: ParityFixture) throws {
        let (model, expected) = try fixture.load()
        let inputs = try ParityInputs(expected)
        let pad = model.configuration.padId
        let sources = (0..<inputs.source.batchSize).map { inputs.source.row($0, padId: pad) }
        var state = model.start(sources: sources, copies: 1)
        let (batch, length, vocabulary) = (inputs.previousOutput.batchSize, inputs.previousOutput.length, model.vocabularySize)
        var steps = [Float](repeating: 0, count: batch * length * vocabulary)
        for t in 0..<length {
            let tokens = (0..<batch).map { inputs.previousOutput.ids[$0 * length + t] }
            let row = model.step(tokens: tokens, state: &state)
            for b in 0..<batch {
                for v in 0..<vocabulary { steps[(b * length + t) * vocabulary + v] = row[b * vocabulary + v] }
            }
        }
        let incremental = Tensor(shape: [batch, length, vocabulary], scalars: steps)
        let keep = { (b: Int, t: Int) in inputs.target.ids[b * length + t] != pad }
        let error = maximumDifference(incremental, try expected.tensor("incremental.lprobs"), keep: keep)
        #expect(error <= 1e-4, "incremental.lprobs max |diff| \(error)")
        // Our own incremental and parallel forwards agree at every step (every position, pads included).
        let parallel = model.logProbabilities(source: inputs.source, previousOutput: inputs.previousOutput).value
        let selfError = maximumDifference(incremental, parallel, keep: keep)
        #expect(selfError <= 1e-5, "incremental vs parallel max |diff| \(selfError)")
    }
}

import Foundation
import Seq2Seq
import TestSupport
import Testing

@Suite("Layers: names, shapes, forward, gradients")
struct LayerTests {
    @Test("parameter names are dotted checkpoint keys, Linear weights [out, in]")
    func names() {
        var generator = SplitMix64(seed: 1)
        let attention = MultiHeadAttention(dimension: 8, headCount: 2, generator: &generator)
        let ffn = FeedForward(dimension: 8, hiddenDimension: 32, generator: &generator)
        let names = attention.parameters(prefix: "encoder.layers.0.self_attn").map(\.name)
        #expect(names == ["q", "k", "v", "out"].flatMap { ["encoder.layers.0.self_attn.\($0)_proj.weight", "encoder.layers.0.self_attn.\($0)_proj.bias"] })
        let ffnParameters = ffn.parameters(prefix: "encoder.layers.0")
        #expect(ffnParameters.map(\.name) == ["encoder.layers.0.fc1.weight", "encoder.layers.0.fc1.bias", "encoder.layers.0.fc2.weight", "encoder.layers.0.fc2.bias"])
        #expect(ffnParameters.map(\.parameter.shape) == [[32, 8], [32], [8, 32], [8]])
        #expect(LayerNorm(dimension: 8).parameters(prefix: "x.final_layer_norm").map(\.name) == ["x.final_layer_norm.weight", "x.final_layer_norm.bias"])
        #expect(Embedding(vocabularySize: 5, dimension: 8, generator: &generator).parameters(prefix: "encoder.embed_tokens").map(\.name) == ["encoder.embed_tokens.weight"])
        #expect(Linear(inputDimension: 3, outputDimension: 2, bias: false, generator: &generator).parameters(prefix: "").map(\.name) == ["weight"])
    }

    @Test("Linear gradients (input, weight, bias) match finite differences")
    func linearGradients() {
        var generator = SplitMix64(seed: 2)
        let layer = Linear(inputDimension: 4, outputDimension: 3, generator: &generator)
        expectGradientsMatch(inputs: [Inputs.normal([2, 5, 4])], parameters: [layer.weight, layer.bias!]) { x, _ in layer(x[0]) }
    }

    @Test("LayerNorm and FeedForward gradients match finite differences")
    func normAndFeedForwardGradients() {
        var generator = SplitMix64(seed: 3)
        let norm = LayerNorm(dimension: 6)
        norm.weight.value = Inputs.normal([6], seed: 4)
        norm.bias.value = Inputs.normal([6], seed: 5)
        let ffn = FeedForward(dimension: 6, hiddenDimension: 8, generator: &generator)
        let parameters = norm.parameters(prefix: "") .map(\.parameter) + ffn.parameters(prefix: "").map(\.parameter)
        // ε = 1e-3: with 1e-2 a step can cross the ReLU kink of a hidden unit near 0.
        expectGradientsMatch(inputs: [Inputs.normal([2, 3, 6])], parameters: parameters, epsilon: 1e-3) { x, _ in ffn(norm(x[0])) }
    }

    @Test("MultiHeadAttention equals a per-head loop and its gradients match finite differences")
    func multiHeadAttention() {
        var generator = SplitMix64(seed: 4)
        let (b, t, s, d, h) = (2, 3, 4, 8, 2)
        let layer = MultiHeadAttention(dimension: d, headCount: h, generator: &generator)
        let x = Inputs.normal([b, t, d], seed: 6)
        let context = Inputs.normal([b, s, d], seed: 7)
        let padding = Tensor.paddingMask(lengths: [4, 2], maximumLength: s)
        let actual = layer(query: Variable(x), keyValue: Variable(context), keyPaddingMask: padding).value

        // Per-head reference in Double.
        func project(_ input: Tensor, _ linear: Linear) -> Tensor {
            Reference.binary(Reference.matmul(input, linear.weight.value, transposeB: true), linear.bias!.value, +)
        }
        let (q, k, v) = (project(x, layer.query), project(context, layer.key), project(context, layer.value))
        let width = d / h
        var merged = Tensor(zeros: [b, t, d])
        for batch in 0..<b {
            for head in 0..<h {
                for i in 0..<t {
                    var scores = [Double](repeating: -.infinity, count: s)
                    for j in 0..<s where padding[batch, j] == 0 {
                        scores[j] = (0..<width).reduce(0.0) { $0 + Double(q[batch, i, head * width + $1]) * Double(k[batch, j, head * width + $1]) }
                            / Double(width).squareRoot()
                    }
                    let top = scores.max()!
                    let weights = scores.map { Foundation.exp($0 - top) }
                    let total = weights.reduce(0, +)
                    for e in 0..<width {
                        merged[batch, i, head * width + e] = Float((0..<s).reduce(0.0) { $0 + weights[$1] / total * Double(v[batch, $1, head * width + e]) })
                    }
                }
            }
        }
        expectClose(actual, project(merged, layer.output), relativeTolerance: 1e-4, absoluteTolerance: 1e-5)

        let parameters = layer.parameters(prefix: "").map(\.parameter)
        expectGradientsMatch(inputs: [x, context], parameters: parameters) { inputs, _ in
            layer(query: inputs[0], keyValue: inputs[1], keyPaddingMask: padding)
        }
        expectGradientsMatch(inputs: [context], parameters: parameters) { inputs, _ in
            layer(query: inputs[0], keyValue: inputs[0], keyPaddingMask: padding, causal: true)
        }
    }

    @Test("Embedding gradients accumulate over repeated ids")
    func embeddingGradients() {
        var generator = SplitMix64(seed: 5)
        let table = Embedding(vocabularySize: 6, dimension: 3, paddingIndex: 0, generator: &generator)
        #expect(table.weight.value.scalars[0..<3].allSatisfy { $0 == 0 })
        expectGradientsMatch(parameters: [table.weight]) { _, tape in table([1, 5, 1, 0, 1], shape: [5], on: tape) * 2 }
    }

    @Test("stateDictionary and load round-trip through a safetensors file")
    func checkpointRoundTrip() throws {
        var generator = SplitMix64(seed: 6)
        let layer = MultiHeadAttention(dimension: 8, headCount: 2, generator: &generator)
        let other = MultiHeadAttention(dimension: 8, headCount: 2, generator: &generator)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("s2s-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensors.write(layer.stateDictionary(prefix: "attn"), to: path)
        try other.load(SafeTensors(contentsOf: path).floatTensors(), prefix: "attn")
        #expect(other.stateDictionary() == layer.stateDictionary())
        #expect(throws: Seq2SeqError.missingTensor(name: "other.q_proj.weight")) {
            try other.load(try SafeTensors(contentsOf: path).floatTensors(), prefix: "other")
        }
    }

    @Test("the inference path (no tape) gives the same values as the recorded path")
    func inferencePath() {
        var generator = SplitMix64(seed: 7)
        let layer = MultiHeadAttention(dimension: 8, headCount: 2, generator: &generator)
        let x = Inputs.normal([2, 3, 8])
        let plain = layer(query: Variable(x), keyValue: Variable(x), causal: true).value
        let tape = Tape()
        let recorded = layer(query: tape.constant(x), keyValue: tape.constant(x), causal: true)
        #expect(recorded.value == plain)
        #expect(tape.nodeCount > 0)
    }
}

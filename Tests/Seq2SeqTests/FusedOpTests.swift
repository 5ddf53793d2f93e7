import Foundation
import Seq2Seq
import TestSupport
import Testing

/// The value of `f` and the gradients of `Σ R ⊙ f` with respect to every input, for a fixed projection R.
private func valueAndGradients(_ inputs: [Tensor], _ f: ([Variable]) -> Variable) -> (Tensor, [Tensor]) {
    let tape = Tape(isTraining: false)
    let variables = inputs.map { tape.input($0) }
    let y = f(variables)
    let value = y.value
    tape.backward(from: y, seed: Inputs.normal(y.shape, seed: 99))
    return (value, variables.enumerated().map { tape.gradient(of: $1) ?? Tensor(zeros: inputs[$0].shape) })
}

/// Checks that the fused and composite versions agree in value and in every gradient.
private func expectSame(
    _ inputs: [Tensor], rtol: Double = 1e-4, atol: Double = 1e-5, fused: ([Variable]) -> Variable, composite: ([Variable]) -> Variable,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let (fusedValue, fusedGradients) = valueAndGradients(inputs, fused)
    let (compositeValue, compositeGradients) = valueAndGradients(inputs, composite)
    expectClose(fusedValue, compositeValue, relativeTolerance: rtol, absoluteTolerance: atol, "value", sourceLocation: sourceLocation)
    for (i, (a, b)) in zip(fusedGradients, compositeGradients).enumerated() {
        expectClose(a, b, relativeTolerance: rtol, absoluteTolerance: atol, "gradient of input \(i)", sourceLocation: sourceLocation)
    }
}

@Suite("Fused ops equal their composites in value and gradient")
struct FusedOpTests {
    @Test("layer norm = (x − mean)/√(var + ε)·w + b")
    func layerNormComposite() {
        expectSame(
            [Inputs.normal([3, 4, 8], scale: 3), Inputs.normal([8], seed: 5), Inputs.normal([8], seed: 6)],
            fused: { layerNorm($0[0], weight: $0[1], bias: $0[2]) },
            composite: { v in
                let centered = v[0] - mean(v[0], axis: -1, keepingDimension: true)
                let variance = mean(centered * centered, axis: -1, keepingDimension: true)
                return centered / sqrt(variance + 1e-5) * v[1] + v[2]
            })
    }

    @Test("softmax = eˣ / Σ eˣ, log-softmax = log(softmax), masked softmax = softmax of a −∞ fill")
    func softmaxComposites() {
        let mask = Tensor.causalMask(5)
        expectSame(
            [Inputs.normal([2, 5, 5])], fused: { softmax($0[0]) },
            composite: { exp($0[0]) / sum(exp($0[0]), axis: -1, keepingDimension: true) })
        expectSame([Inputs.normal([2, 5, 5])], fused: { logSoftmax($0[0]) }, composite: { log(softmax($0[0])) })
        expectSame(
            [Inputs.normal([2, 5, 5])], fused: { softmax($0[0], mask: mask) },
            composite: { v in
                let e = exp(maskedFill(v[0], mask: mask, value: -1e4))
                return e / sum(e, axis: -1, keepingDimension: true)
            })
    }

    @Test("label-smoothed cross-entropy = −Σ w ⊙ log-softmax")
    func crossEntropyComposite() {
        let (rows, vocabulary, epsilon) = (5, 7, Float(0.1))
        let targets = [3, 0, 6, 0, 1]  // 0 is ignored (padding)
        var weights = Tensor(zeros: [rows, vocabulary])
        let share = epsilon / Float(vocabulary - 1)
        for (r, t) in targets.enumerated() where t != 0 {
            for v in 0..<vocabulary { weights[r, v] = share + (v == t ? 1 - epsilon - share : 0) }
        }
        expectSame(
            [Inputs.normal([rows, vocabulary], scale: 2)],
            fused: { labelSmoothedCrossEntropy(logits: $0[0], targets: targets, labelSmoothing: epsilon, ignoring: 0).loss },
            composite: { -sum(logSoftmax($0[0]) * Variable(weights)) })
    }

    @Test("label-smoothed cross-entropy seeded with 1 (the gradient handed on as is) = the composite's gradient")
    func crossEntropyUnitSeed() throws {
        let (rows, vocabulary, epsilon) = (6, 29, Float(0.1))
        let targets = [3, 0, 28, 0, 1, 17]  // 0 is ignored (padding)
        let logits = Inputs.normal([rows, vocabulary], scale: 2)
        var weights = Tensor(zeros: [rows, vocabulary])
        let share = epsilon / Float(vocabulary - 1)
        for (r, t) in targets.enumerated() where t != 0 {
            for v in 0..<vocabulary { weights[r, v] = share + (v == t ? 1 - epsilon - share : 0) }
        }
        func gradient(_ f: (Variable) -> Variable) throws -> Tensor {
            let tape = Tape(isTraining: false)
            let x = tape.input(logits)
            tape.backward(from: f(reshape(x, [rows, vocabulary])))  // through a reshape, as the model's loss
            return try #require(tape.gradient(of: x))
        }
        let fused = try gradient { labelSmoothedCrossEntropy(logits: $0, targets: targets, labelSmoothing: epsilon, ignoring: 0).loss }
        let composite = try gradient { -sum(logSoftmax($0) * Variable(weights)) }
        expectClose(fused, composite, relativeTolerance: 1e-4, absoluteTolerance: 1e-6, "gradient")
        #expect(fused.scalars[vocabulary..<(2 * vocabulary)].allSatisfy { $0 == 0 }, "a skipped row gets no gradient")
    }

    @Test("chunked causal scan = fairseq's materialised cumulative sum of outer products, / t")
    func scanComposite() {
        let (groups, m, a, b) = (3, 9, 4, 3)
        let positions = Tensor(shape: [m, 1], scalars: (1...m).map { 1 / Float($0) })
        for chunk in [1, 4, 9, 32] {
            expectSame(
                [Inputs.normal([groups, m, a]), Inputs.normal([groups, m, a], seed: 7), Inputs.normal([groups, m, b], seed: 8)],
                fused: { causalLinearAttention(query: $0[0], key: $0[1], value: $0[2], chunkSize: chunk) },
                composite: { v in
                    // S_t = Σ_{s≤t} k_s ⊗ v_s: [G, m, a, b]; y_t = q_t · S_t / t
                    let outer = reshape(v[1], [groups, m, a, 1]) * reshape(v[2], [groups, m, 1, b])
                    let running = cumulativeSum(outer, axis: 1)
                    let contracted = sum(reshape(v[0], [groups, m, a, 1]) * running, axis: 2)  // [G, m, b]
                    return contracted * Variable(positions)
                })
        }
    }

    @Test("Luna's causal unpack logits from the scan equal the per-step recurrence of luna.md §2.4")
    func lunaRecurrence() {
        // e_t = (1/t)·Σ_{s≤t} (q_t·k_s) α_s with α_s = softplus_{ln 2}(Π·c_s), one head.
        let (m, k, l) = (6, 4, 3)
        let q = Inputs.normal([m, k], seed: 1)
        let keys = Inputs.normal([m, k], seed: 2)
        let pi = Inputs.normal([l, k], seed: 3)
        let c = Inputs.normal([m, k], seed: 4)
        let alpha = softplus(matmul(Variable(c), Variable(pi), transposeB: true), beta: Float(Foundation.log(2.0))).value  // [m, L]
        let logits = causalLinearAttention(query: Variable(q), key: Variable(keys), value: Variable(alpha)).value  // [m, L]
        var state = [Double](repeating: 0, count: k * l)  // S^K = Σ k_s α_sᵀ
        for t in 0..<m {
            for i in 0..<k { for j in 0..<l { state[i * l + j] += Double(keys[t, i]) * Double(alpha[t, j]) } }
            for j in 0..<l {
                var e = 0.0
                for i in 0..<k { e += Double(q[t, i]) * state[i * l + j] }
                #expect(abs(e / Double(t + 1) - Double(logits[t, j])) < 1e-5)
            }
        }
    }

    @Test("in-place multi-head attention = split heads, scale, attention, merge (with dropout: same seed, same mask)")
    func headAttentionComposite() {
        let mask = Tensor.paddingMask(lengths: [5, 3], maximumLength: 5).reshaped([2, 1, 1, 5])
        let inputs = [Inputs.normal([2, 4, 6]), Inputs.normal([2, 5, 6], seed: 7), Inputs.normal([2, 5, 9], seed: 8)]
        func composite(_ v: [Variable], dropout: Float) -> Variable {
            let q = splitHeads(v[0] * 0.6, heads: 3)
            return mergeHeads(attention(query: q, key: splitHeads(v[1], heads: 3), value: splitHeads(v[2], heads: 3), mask: mask, dropout: dropout))
        }
        expectSame(
            inputs, fused: { multiHeadAttention(query: $0[0], key: $0[1], value: $0[2], heads: 3, scale: 0.6, mask: mask) },
            composite: { composite($0, dropout: 0) })
        // Dropout: both draw the first seed of a fresh tape and index the [B, H, Q, K] probabilities alike.
        func run(_ f: ([Variable]) -> Variable) -> (Tensor, [Tensor]) {
            let tape = Tape(seed: 11)
            let variables = inputs.map { tape.input($0) }
            let y = f(variables)
            let value = y.value
            tape.backward(from: y, seed: Inputs.normal(y.shape, seed: 99))
            return (value, variables.map { tape.gradient(of: $0)! })
        }
        let fused = run { multiHeadAttention(query: $0[0], key: $0[1], value: $0[2], heads: 3, scale: 0.6, mask: mask, dropout: 0.3) }
        let reference = run { composite($0, dropout: 0.3) }
        expectClose(fused.0, reference.0, relativeTolerance: 1e-4, absoluteTolerance: 1e-5)
        for (a, b) in zip(fused.1, reference.1) { expectClose(a, b, relativeTolerance: 1e-4, absoluteTolerance: 1e-5) }
        #expect(fused.0 != run { multiHeadAttention(query: $0[0], key: $0[1], value: $0[2], heads: 3, scale: 0.6, mask: mask) }.0)
    }

    @Test("tied keys and values (Luna) get both gradients")
    func tiedKeyValue() {
        expectGradientsMatch(inputs: [Inputs.normal([2, 3, 4]), Inputs.normal([2, 5, 4], seed: 3)]) { v, _ in
            multiHeadAttention(query: v[0], key: v[1], value: v[1], heads: 2, scale: 0.7)
        }
    }
}

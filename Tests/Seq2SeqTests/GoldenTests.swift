import Foundation
import Seq2Seq
import TestSupport
import Testing

/// Forward values against goldens computed with numpy in float64 (scripts/golden/seq2seq_ops.py).
@Suite("Ops against numpy goldens")
struct GoldenTests {
    private func check(_ golden: Golden, _ f: ([Variable]) -> Variable, sourceLocation: SourceLocation = #_sourceLocation) {
        let actual = f(golden.inputs.map { Variable($0) }).value
        expectClose(actual, golden.output, relativeTolerance: 1e-5, absoluteTolerance: 1e-5, sourceLocation: sourceLocation)
    }

    @Test("activations: GELU (erf), softplus with β = ln 2 and its threshold, ELU")
    func activations() {
        check(OpGoldens.gelu) { gelu($0[0]) }
        check(OpGoldens.softplusLn2) { softplus($0[0], beta: Float(Foundation.log(2.0))) }
        check(OpGoldens.elu) { elu($0[0]) }
    }

    @Test("masked log-softmax, layer norm, label-smoothed cross-entropy")
    func normalisations() {
        let mask = Tensor(shape: [2, 1, 4], scalars: [0, 0, 1, 1, 0, 0, 0, 1])
        check(OpGoldens.maskedLogSoftmax) { maskedFill(logSoftmax($0[0], mask: mask), mask: mask, value: 0) }
        check(OpGoldens.layerNorm) { layerNorm($0[0], weight: $0[1], bias: $0[2]) }
        check(OpGoldens.labelSmoothedCrossEntropy) {
            labelSmoothedCrossEntropy(logits: $0[0], targets: [3, 0, 6, 2, 0], labelSmoothing: 0.1, ignoring: 0).loss
        }
    }

    @Test("chunked causal scan against fairseq's cumulative-sum form; masked attention")
    func attentionForms() {
        for chunk in [1, 4, 64] {
            check(OpGoldens.causalLinearAttention) { causalLinearAttention(query: $0[0], key: $0[1], value: $0[2], chunkSize: chunk) }
        }
        let mask = Tensor(shape: [1, 1, 1, 5], scalars: [0, 0, 0, 1, 1])
        check(OpGoldens.attention) { attention(query: $0[0], key: $0[1], value: $0[2], mask: mask) }
    }
}

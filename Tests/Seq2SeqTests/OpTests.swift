import Foundation
import Seq2Seq
import TestSupport
import Testing

/// One op under test: its inputs, how to call it, and an independent reference for its forward value.
struct OpCase: CustomStringConvertible, Sendable {
    let name: String
    let inputs: [Tensor]
    let call: @Sendable ([Variable], Tape?) -> Variable
    let reference: @Sendable ([Tensor]) -> Tensor
    var relativeTolerance = 1e-2
    var absoluteTolerance = 1e-3
    var description: String { name }

    init(
        _ name: String, _ inputs: [Tensor], rtol: Double = 1e-2, atol: Double = 1e-3,
        _ call: @escaping @Sendable ([Variable]) -> Variable, reference: @escaping @Sendable ([Tensor]) -> Tensor
    ) {
        self.name = name
        self.inputs = inputs
        self.call = { inputs, _ in call(inputs) }  // ops find the tape through their inputs
        self.reference = reference
        self.relativeTolerance = rtol
        self.absoluteTolerance = atol
    }
}

private let mask3 = Tensor(shape: [2, 1, 1, 4], scalars: [0, 0, 0, 1, 0, 0, 1, 1])  // key padding, B = 2, K = 4
private let ln2 = Float(Foundation.log(2.0))

/// Every differentiable op, each with an independent reference.
let opCases: [OpCase] = arithmeticCases + unaryCases + productCases + reductionCases + shapingCases + softmaxCases

private let arithmeticCases: [OpCase] = [
    OpCase("add", [Inputs.normal([2, 3]), Inputs.normal([2, 3], seed: 9)], { $0[0] + $0[1] }, reference: { Reference.binary($0[0], $0[1], +) }),
    OpCase("add [2,3,4]+[4]", [Inputs.normal([2, 3, 4]), Inputs.normal([4], seed: 9)], { $0[0] + $0[1] }, reference: { Reference.binary($0[0], $0[1], +) }),
    OpCase("add [2,1,4]+[3,1]", [Inputs.normal([2, 1, 4]), Inputs.normal([3, 1], seed: 9)], { $0[0] + $0[1] }, reference: { Reference.binary($0[0], $0[1], +) }),
    OpCase("subtract [2,3]-[2,1]", [Inputs.normal([2, 3]), Inputs.normal([2, 1], seed: 9)], { $0[0] - $0[1] }, reference: { Reference.binary($0[0], $0[1], -) }),
    OpCase("multiply [2,3,4]*[3,1]", [Inputs.normal([2, 3, 4]), Inputs.normal([3, 1], seed: 9)], { $0[0] * $0[1] }, reference: { Reference.binary($0[0], $0[1], *) }),
    OpCase("multiply [4]*[2,3,4]", [Inputs.normal([4]), Inputs.normal([2, 3, 4], seed: 9)], { $0[0] * $0[1] }, reference: { Reference.binary($0[0], $0[1], *) }),
    OpCase("divide [2,3]/[3]", [Inputs.normal([2, 3]), Inputs.positive([3])], { $0[0] / $0[1] }, reference: { Reference.binary($0[0], $0[1], /) }),
    OpCase("divide [3]/[2,3]", [Inputs.normal([3]), Inputs.positive([2, 3])], { $0[0] / $0[1] }, reference: { Reference.binary($0[0], $0[1], /) }),
    // The add hands its output gradient to one operand: here to a second use of the same variable, then to an
    // operand that already has a gradient from the product.
    OpCase("add of a variable to itself", [Inputs.normal([2, 3])], { $0[0] + $0[0] }, reference: { Reference.map($0[0]) { 2 * $0 } }),
    OpCase("(a + b)·a", [Inputs.normal([2, 3]), Inputs.normal([2, 3], seed: 9)], { ($0[0] + $0[1]) * $0[0] },
           reference: { Reference.binary(Reference.binary($0[0], $0[1], +), $0[0], *) }),
    OpCase("scaled", [Inputs.normal([2, 3])], { $0[0] * 2.5 }, reference: { Reference.map($0[0]) { 2.5 * $0 } }),
    OpCase("shifted", [Inputs.normal([2, 3])], { $0[0] + 1.5 }, reference: { Reference.map($0[0]) { $0 + 1.5 } }),
    OpCase("negate", [Inputs.normal([2, 3])], { -$0[0] }, reference: { Reference.map($0[0]) { -$0 } }),
]

private let unaryCases: [OpCase] = [
    OpCase("exp", [Inputs.normal([2, 3])], { exp($0[0]) }, reference: { Reference.map($0[0], Foundation.exp) }),
    OpCase("log", [Inputs.positive([2, 3])], { log($0[0]) }, reference: { Reference.map($0[0], Foundation.log) }),
    OpCase("sqrt", [Inputs.positive([2, 3])], { sqrt($0[0]) }, reference: { Reference.map($0[0]) { $0.squareRoot() } }),
    OpCase("tanh", [Inputs.normal([2, 3])], { tanh($0[0]) }, reference: { Reference.map($0[0], Foundation.tanh) }),
    OpCase("sigmoid", [Inputs.normal([2, 3])], { sigmoid($0[0]) }, reference: { Reference.map($0[0]) { 1 / (1 + Foundation.exp(-$0)) } }),
    OpCase("relu", [Inputs.awayFromZero([3, 4])], { relu($0[0]) }, reference: { Reference.map($0[0]) { max($0, 0) } }),
    OpCase("gelu", [Inputs.normal([3, 4])], { gelu($0[0]) }, reference: { Reference.map($0[0]) { $0 * 0.5 * (1 + erf($0 / 2.0.squareRoot())) } }),
    OpCase("elu", [Inputs.awayFromZero([3, 4])], { elu($0[0]) }, reference: { Reference.map($0[0]) { $0 > 0 ? $0 : Foundation.exp($0) - 1 } }),
    OpCase("elu + 1", [Inputs.awayFromZero([3, 4])], { elu($0[0]) + 1 }, reference: { Reference.map($0[0]) { $0 > 0 ? $0 + 1 : Foundation.exp($0) } }),
    OpCase("softplus beta ln 2", [Inputs.normal([3, 4], scale: 3)], { softplus($0[0], beta: ln2) },
           reference: { Reference.map($0[0]) { Foundation.log2(1 + Foundation.pow(2, $0)) } }),
    OpCase("softplus beta 1, both sides of the threshold", [Tensor(shape: [4], scalars: [-3, 0.5, 19, 25])], { softplus($0[0]) },
           reference: { Reference.map($0[0]) { $0 > 20 ? $0 : Foundation.log1p(Foundation.exp($0)) } }),
]

private let productCases: [OpCase] = [
    OpCase("matmul", [Inputs.normal([3, 4]), Inputs.normal([4, 5], seed: 9)], { matmul($0[0], $0[1]) }, reference: { Reference.matmul($0[0], $0[1]) }),
    OpCase("matmul Aᵀ", [Inputs.normal([4, 3]), Inputs.normal([4, 5], seed: 9)], { matmul($0[0], $0[1], transposeA: true) },
           reference: { Reference.matmul($0[0], $0[1], transposeA: true) }),
    OpCase("matmul Bᵀ", [Inputs.normal([3, 4]), Inputs.normal([5, 4], seed: 9)], { matmul($0[0], $0[1], transposeB: true) },
           reference: { Reference.matmul($0[0], $0[1], transposeB: true) }),
    OpCase("matmul AᵀBᵀ", [Inputs.normal([4, 3]), Inputs.normal([5, 4], seed: 9)], { matmul($0[0], $0[1], transposeA: true, transposeB: true) },
           reference: { Reference.matmul($0[0], $0[1], transposeA: true, transposeB: true) }),
    OpCase("batched matmul", [Inputs.normal([2, 2, 3, 4]), Inputs.normal([2, 2, 4, 3], seed: 9)], { matmul($0[0], $0[1]) },
           reference: { Reference.matmul($0[0], $0[1]) }),
    OpCase("batched matmul AᵀBᵀ", [Inputs.normal([2, 4, 3]), Inputs.normal([2, 5, 4], seed: 9)],
           { matmul($0[0], $0[1], transposeA: true, transposeB: true) }, reference: { Reference.matmul($0[0], $0[1], transposeA: true, transposeB: true) }),
    OpCase("matmul with a shared b", [Inputs.normal([2, 3, 4]), Inputs.normal([4, 5], seed: 9)], { matmul($0[0], $0[1]) },
           reference: { Reference.matmul($0[0], $0[1]) }),
    OpCase("matmul with a shared bᵀ", [Inputs.normal([2, 3, 4]), Inputs.normal([5, 4], seed: 9)], { matmul($0[0], $0[1], transposeB: true) },
           reference: { Reference.matmul($0[0], $0[1], transposeB: true) }),
    OpCase("linear", [Inputs.normal([2, 3, 4]), Inputs.normal([5, 4], seed: 9), Inputs.normal([5], seed: 8)],
           { linear($0[0], weight: $0[1], bias: $0[2]) },
           reference: { Reference.binary(Reference.matmul($0[0], $0[1], transposeB: true), $0[2], +) }),
    OpCase("linear without bias", [Inputs.normal([3, 4]), Inputs.normal([2, 4], seed: 9)], { linear($0[0], weight: $0[1]) },
           reference: { Reference.matmul($0[0], $0[1], transposeB: true) }),
]

private let reductionCases: [OpCase] = [
    OpCase("sum axis 0", [Inputs.normal([2, 3, 4])], { sum($0[0], axis: 0) }, reference: { Reference.sum($0[0], axis: 0).reshaped([3, 4]) }),
    OpCase("sum axis 1 keeping it", [Inputs.normal([2, 3, 4])], { sum($0[0], axis: 1, keepingDimension: true) }, reference: { Reference.sum($0[0], axis: 1) }),
    OpCase("sum axis -1", [Inputs.normal([2, 3, 4])], { sum($0[0], axis: -1) }, reference: { Reference.sum($0[0], axis: 2).reshaped([2, 3]) }),
    OpCase("mean axis 1", [Inputs.normal([2, 3, 4])], { mean($0[0], axis: 1) }, reference: { Reference.map(Reference.sum($0[0], axis: 1).reshaped([2, 4])) { $0 / 3 } }),
    OpCase("sum of all", [Inputs.normal([2, 3, 4])], { sum($0[0]) }, reference: { Tensor(scalar: $0[0].scalars.reduce(0, +)) }),
    OpCase("mean of all", [Inputs.normal([2, 3, 4])], { mean($0[0]) }, reference: { Tensor(scalar: $0[0].scalars.reduce(0, +) / 24) }),
    OpCase("cumulative sum axis 1", [Inputs.normal([2, 5, 3])], { cumulativeSum($0[0], axis: 1) },
           reference: { cumulativeSumReference($0[0]) }),
    OpCase("causal linear attention, normalised, chunk 3", [Inputs.normal([2, 7, 3]), Inputs.normal([2, 7, 3], seed: 9), Inputs.normal([2, 7, 2], seed: 8)],
           { causalLinearAttention(query: $0[0], key: $0[1], value: $0[2], chunkSize: 3) },
           reference: { Reference.causalLinearAttention($0[0], $0[1], $0[2], normalized: true) }),
    OpCase("causal linear attention, raw, chunk 2, heads", [Inputs.normal([1, 2, 5, 3]), Inputs.normal([1, 2, 5, 3], seed: 9), Inputs.normal([1, 2, 5, 4], seed: 8)],
           { causalLinearAttention(query: $0[0], key: $0[1], value: $0[2], normalizedByPosition: false, chunkSize: 2) },
           reference: { Reference.causalLinearAttention($0[0], $0[1], $0[2], normalized: false) }),
    OpCase("causal linear attention, one chunk", [Inputs.normal([6, 3]), Inputs.normal([6, 3], seed: 9), Inputs.normal([6, 2], seed: 8)],
           { causalLinearAttention(query: $0[0], key: $0[1], value: $0[2], chunkSize: 64) },
           reference: { Reference.causalLinearAttention($0[0], $0[1], $0[2], normalized: true) }),
]

private let shapingCases: [OpCase] = [
    OpCase("reshape", [Inputs.normal([2, 3, 4])], { reshape($0[0], [6, -1]) }, reference: { $0[0].reshaped([6, 4]) }),
    OpCase("permute", [Inputs.normal([2, 3, 4])], { permute($0[0], [2, 0, 1]) }, reference: { Reference.permute($0[0], [2, 0, 1]) }),
    OpCase("transpose", [Inputs.normal([2, 3, 4])], { transpose($0[0]) }, reference: { Reference.permute($0[0], [0, 2, 1]) }),
    OpCase("split heads", [Inputs.normal([2, 3, 4])], { splitHeads($0[0], heads: 2) },
           reference: { Reference.permute($0[0].reshaped([2, 3, 2, 2]), [0, 2, 1, 3]) }),
    OpCase("merge heads", [Inputs.normal([2, 2, 3, 2])], { mergeHeads($0[0]) },
           reference: { Reference.permute($0[0], [0, 2, 1, 3]).reshaped([2, 3, 4]) }),
    OpCase("slice axis 1", [Inputs.normal([2, 5, 3])], { slice($0[0], axis: 1, 1..<3) },
           reference: { sliceReference($0[0]) }),
    OpCase("concatenate axis 1", [Inputs.normal([2, 2, 3]), Inputs.normal([2, 1, 3], seed: 9)], { concatenate([$0[0], $0[1]], axis: 1) },
           reference: { concatenateReference($0[0], $0[1]) }),
    OpCase("broadcast [3,1] to [2,3,4]", [Inputs.normal([3, 1])], { broadcast($0[0], to: [2, 3, 4]) },
           reference: { Reference.binary($0[0], Tensor(zeros: [2, 3, 4]), +) }),
]

private let softmaxCases: [OpCase] = [
    OpCase("softmax", [Inputs.normal([3, 5])], { softmax($0[0]) }, reference: { Reference.softmax($0[0]) }),
    OpCase("log-softmax", [Inputs.normal([3, 5])], { logSoftmax($0[0]) }, reference: { Reference.softmax($0[0], log: true) }),
    OpCase("softmax with a key padding mask", [Inputs.normal([2, 2, 3, 4])], { softmax($0[0], mask: mask3) },
           reference: { Reference.softmax($0[0], masked: { r, j in mask3.scalars[(r / 6) * 4 + j] != 0 }) }),
    OpCase("softmax with a causal mask", [Inputs.normal([2, 4, 4])], { softmax($0[0], mask: .causalMask(4)) },
           reference: { Reference.softmax($0[0], masked: { r, j in j > r % 4 }) }),
    OpCase("log-softmax with a mask", [Inputs.normal([2, 2, 3, 4])], { maskedFill(logSoftmax($0[0], mask: mask3), mask: mask3, value: 0) },
           reference: { Reference.map(Reference.softmax($0[0], log: true, masked: { r, j in mask3.scalars[(r / 6) * 4 + j] != 0 })) { $0.isFinite ? $0 : 0 } }),
    OpCase("masked fill", [Inputs.normal([2, 2, 3, 4])], { maskedFill($0[0], mask: mask3, value: -7) },
           reference: { maskedFillReference($0[0]) }),
    OpCase("layer norm", [Inputs.normal([2, 3, 5], scale: 2), Inputs.normal([5], seed: 9), Inputs.normal([5], seed: 8)],
           { layerNorm($0[0], weight: $0[1], bias: $0[2]) }, reference: { Reference.layerNorm($0[0], $0[1], $0[2]) }),
    OpCase("embedding (repeated ids)", [Inputs.normal([5, 3])], { embedding($0[0], ids: [4, 0, 4, 2, 4, 1], shape: [2, 3]) },
           reference: { embeddingReference($0[0], ids: [4, 0, 4, 2, 4, 1]).reshaped([2, 3, 3]) }),
    OpCase("label-smoothed cross-entropy", [Inputs.normal([4, 6], scale: 2)],
           { labelSmoothedCrossEntropy(logits: $0[0], targets: [1, 0, 5, 3], labelSmoothing: 0.1, ignoring: 0).loss },
           reference: { crossEntropyReference($0[0], targets: [1, 0, 5, 3]) }),
    // 37 columns: four blocks of eight lanes and a tail of five in the vectorised row sums.
    OpCase("label-smoothed cross-entropy, 37 classes", [Inputs.normal([4, 37], scale: 3)],
           { labelSmoothedCrossEntropy(logits: $0[0], targets: [36, 0, 8, 5], labelSmoothing: 0.1, ignoring: 0).loss },
           reference: { crossEntropyReference($0[0], targets: [36, 0, 8, 5]) }),
    OpCase("attention with a key padding mask", [Inputs.normal([2, 2, 3, 4]), Inputs.normal([2, 2, 4, 4], seed: 9), Inputs.normal([2, 2, 4, 2], seed: 8)],
           { attention(query: $0[0], key: $0[1], value: $0[2], mask: mask3) },
           reference: { attentionReference($0[0], $0[1], $0[2]) }),
    OpCase("multi-head attention in place, key padding mask", [Inputs.normal([2, 3, 8]), Inputs.normal([2, 4, 8], seed: 9), Inputs.normal([2, 4, 4], seed: 8)],
           { multiHeadAttention(query: $0[0], key: $0[1], value: $0[2], heads: 2, scale: 0.5, mask: mask3) },
           reference: { headAttentionReference($0[0], $0[1], $0[2]) }),
    OpCase("multi-head attention in place, causal", [Inputs.normal([2, 4, 6]), Inputs.normal([2, 4, 6], seed: 9), Inputs.normal([2, 4, 6], seed: 8)],
           { multiHeadAttention(query: $0[0], key: $0[1], value: $0[2], heads: 3, scale: 0.7, mask: .causalMask(4)) },
           reference: { causalHeadAttentionReference($0[0], $0[1], $0[2]) }),
]

private func cumulativeSumReference(_ x: Tensor) -> Tensor {
    var out = x
    for b in 0..<2 { for t in 1..<5 { for i in 0..<3 { out[b, t, i] = out[b, t - 1, i] + x[b, t, i] } } }
    return out
}

private func maskedFillReference(_ x: Tensor) -> Tensor {
    var out = x
    for i in 0..<x.count where mask3.scalars[(i / 24) * 4 + i % 4] != 0 { out.scalars[i] = -7 }
    return out
}

/// fairseq's label-smoothed loss with ε = 0.1, summed over the rows whose target is not 0.
private func crossEntropyReference(_ x: Tensor, targets: [Int]) -> Tensor {
    let lp = Reference.softmax(x, log: true)
    let classes = x.shape[1]
    var total = 0.0
    for (r, t) in targets.enumerated() where t != 0 {
        let row = (0..<classes).map { Double(lp[r, $0]) }
        let (e, ei) = (0.1, 0.1 / Double(classes - 1))
        total += (1 - e - ei) * -row[t] + ei * -row.reduce(0, +)
    }
    return Tensor(scalar: Float(total))
}

private func attentionReference(_ q: Tensor, _ k: Tensor, _ v: Tensor) -> Tensor {
    let scores = Reference.matmul(q, k, transposeB: true)
    let weights = Reference.softmax(scores, masked: { r, j in mask3.scalars[(r / 6) * 4 + j] != 0 })
    return Reference.matmul(weights, v)
}

/// Per-head attention over `[B, N, H·k]` inputs: split, scale, mask, softmax, weight, merge.
private func headAttentionReference(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int = 2, scale: Double = 0.5, mask: Tensor = mask3) -> Tensor {
    func split(_ x: Tensor) -> Tensor {
        Reference.permute(x.reshaped([x.shape[0], x.shape[1], heads, x.shape[2] / heads]), [0, 2, 1, 3])
    }
    let scores = Reference.map(Reference.matmul(split(q), split(k), transposeB: true)) { $0 * scale }
    let (h, nq, nk) = (heads, q.shape[1], k.shape[1])
    let weights = Reference.softmax(scores) { r, j in
        let (batch, query) = (r / (h * nq), r % nq)
        let offset = mask.rank == 2 ? query * nk : batch * nk
        return mask.scalars[offset + j] != 0
    }
    let out = Reference.matmul(weights, split(v))  // [B, H, Q, v]
    return Reference.permute(out, [0, 2, 1, 3]).reshaped([q.shape[0], nq, v.shape[2]])
}

private func causalHeadAttentionReference(_ q: Tensor, _ k: Tensor, _ v: Tensor) -> Tensor {
    headAttentionReference(q, k, v, heads: 3, scale: 0.7, mask: .causalMask(4))
}

private func sliceReference(_ x: Tensor) -> Tensor {
    var out = Tensor(zeros: [2, 2, 3])
    for b in 0..<2 { for t in 0..<2 { for j in 0..<3 { out[b, t, j] = x[b, t + 1, j] } } }
    return out
}

private func concatenateReference(_ x: Tensor, _ y: Tensor) -> Tensor {
    var out = Tensor(zeros: [2, 3, 3])
    for b in 0..<2 {
        for j in 0..<3 {
            out[b, 0, j] = x[b, 0, j]
            out[b, 1, j] = x[b, 1, j]
            out[b, 2, j] = y[b, 0, j]
        }
    }
    return out
}

private func embeddingReference(_ table: Tensor, ids: [Int]) -> Tensor {
    let width = table.shape[1]
    var out = Tensor(zeros: [ids.count, width])
    for (n, id) in ids.enumerated() { for j in 0..<width { out[n, j] = table[id, j] } }
    return out
}

@Suite("Ops: forward values and gradients")
struct OpTests {
    @Test("forward matches an independent computation", arguments: opCases)
    func forward(_ op: OpCase) {
        let actual = op.call(op.inputs.map { Variable($0) }, nil).value
        expectClose(actual, op.reference(op.inputs), relativeTolerance: 1e-5, absoluteTolerance: 1e-5)
    }

    @Test("recording on a tape gives the same forward value", arguments: opCases)
    func forwardOnTape(_ op: OpCase) {
        let tape = Tape(isTraining: false)
        let recorded = op.call(op.inputs.map { tape.input($0) }, tape).value
        let plain = op.call(op.inputs.map { Variable($0) }, nil).value
        #expect(recorded == plain)
    }

    @Test("gradients match central finite differences", arguments: opCases)
    func gradients(_ op: OpCase) {
        expectGradientsMatch(inputs: op.inputs, relativeTolerance: op.relativeTolerance, absoluteTolerance: op.absoluteTolerance, op.call)
    }
}

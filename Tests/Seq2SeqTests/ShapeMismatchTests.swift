import Seq2Seq
import Testing

/// Ops called with incompatible shapes (or ids): each must stop with a precondition failure. Unary ops take
/// any shape and have no such case.
enum Mismatch: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case tensorCount, reshape, addBroadcast, multiplyBroadcast, matmulInner, matmulBatch, linearInput, linearBias
    case sumAxis, cumulativeSumAxis, permuteAxes, transposeAxis, splitHeads, mergeHeads, slice, concatenate, broadcast
    case softmaxMask, logSoftmaxMask, maskedFill, layerNormWeight, embeddingId, crossEntropyTargets, crossEntropyId
    case causalScan, attention, headAttention, dropoutProbability, backwardSeed

    var description: String { rawValue }

    func run() {
        let x = Variable(Tensor(zeros: [2, 3]))
        switch self {
        case .tensorCount: _ = Tensor(shape: [2, 2], scalars: [1, 2, 3])
        case .reshape: _ = Seq2Seq.reshape(x, [4, 2])
        case .addBroadcast: _ = x + Variable(Tensor(zeros: [2]))
        case .multiplyBroadcast: _ = x * Variable(Tensor(zeros: [3, 3]))
        case .matmulInner: _ = Seq2Seq.matmul(x, Variable(Tensor(zeros: [2, 3])))
        case .matmulBatch: _ = Seq2Seq.matmul(Variable(Tensor(zeros: [2, 2, 3])), Variable(Tensor(zeros: [3, 3, 2])))
        case .linearInput: _ = Seq2Seq.linear(x, weight: Variable(Tensor(zeros: [4, 2])))
        case .linearBias: _ = Seq2Seq.linear(x, weight: Variable(Tensor(zeros: [4, 3])), bias: Variable(Tensor(zeros: [3])))
        case .sumAxis: _ = Seq2Seq.sum(x, axis: 2)
        case .cumulativeSumAxis: _ = Seq2Seq.cumulativeSum(x, axis: -3)
        case .permuteAxes: _ = Seq2Seq.permute(x, [0, 0])
        case .transposeAxis: _ = Seq2Seq.transpose(x, 0, 2)
        case .splitHeads: _ = Seq2Seq.splitHeads(Variable(Tensor(zeros: [1, 2, 6])), heads: 4)
        case .mergeHeads: _ = Seq2Seq.mergeHeads(x)
        case .slice: _ = Seq2Seq.slice(x, axis: 1, 1..<4)
        case .concatenate: _ = Seq2Seq.concatenate([x, Variable(Tensor(zeros: [2, 2]))], axis: 0)
        case .broadcast: _ = Seq2Seq.broadcast(x, to: [3, 3])
        case .softmaxMask: _ = Seq2Seq.softmax(x, mask: Tensor(zeros: [2]))
        case .logSoftmaxMask: _ = Seq2Seq.logSoftmax(x, mask: Tensor(zeros: [3, 3]))
        case .maskedFill: _ = Seq2Seq.maskedFill(x, mask: Tensor(zeros: [2, 2]), value: 0)
        case .layerNormWeight: _ = Seq2Seq.layerNorm(x, weight: Variable(Tensor(zeros: [2])), bias: Variable(Tensor(zeros: [3])))
        case .embeddingId: _ = Seq2Seq.embedding(x, ids: [0, 2])
        case .crossEntropyTargets: _ = Seq2Seq.labelSmoothedCrossEntropy(logits: x, targets: [0])
        case .crossEntropyId: _ = Seq2Seq.labelSmoothedCrossEntropy(logits: x, targets: [0, 3])
        case .causalScan:
            _ = Seq2Seq.causalLinearAttention(query: Variable(Tensor(zeros: [4, 2])), key: Variable(Tensor(zeros: [4, 2])), value: Variable(Tensor(zeros: [3, 2])))
        case .attention:
            let q = Variable(Tensor(zeros: [1, 1, 2, 4]))
            _ = Seq2Seq.attention(query: q, key: Variable(Tensor(zeros: [1, 1, 3, 4])), value: Variable(Tensor(zeros: [1, 1, 2, 4])))
        case .headAttention:
            _ = Seq2Seq.multiHeadAttention(query: x.reshaped3, key: Variable(Tensor(zeros: [1, 2, 4])), value: Variable(Tensor(zeros: [1, 2, 3])), heads: 2, scale: 1)
        case .dropoutProbability: _ = Seq2Seq.dropout(x, probability: 1)
        case .backwardSeed:
            let tape = Tape()
            tape.backward(from: tape.input(Tensor(zeros: [2])), seed: Tensor(zeros: [3]))
        }
    }
}

extension Variable {
    fileprivate var reshaped3: Variable { Seq2Seq.reshape(self, [1, 2, 3]) }
}

@Suite("Shape mismatches stop with a precondition failure")
struct ShapeMismatchTests {
    @Test("each op rejects incompatible shapes", arguments: Mismatch.allCases)
    func rejects(_ mismatch: Mismatch) async {
        await #expect(processExitsWith: .failure) { [mismatch] in mismatch.run() }
    }

    @Test("a stale variable from a released graph is rejected")
    func staleVariable() async {
        await #expect(processExitsWith: .failure) {
            let tape = Tape()
            let x = tape.input(Tensor(zeros: [2]))
            tape.backward(from: sum(x))
            _ = x * 2  // x's graph was released by backward
        }
    }
}

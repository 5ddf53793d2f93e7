import Foundation
import Seq2Seq
import TestSupport
import Testing

/// Shapes big enough that the kernels split rows across threads and batched products spread over threads:
/// forward values against the Double references, and fused backward passes against their composites.
@Suite("Kernels at sizes that take the parallel paths")
struct ParallelPathTests {
    @Test("forward values at parallel sizes")
    func forward() {
        let a = Inputs.normal([64, 16, 24])
        let b = Inputs.normal([64, 24, 16], seed: 2)
        expectClose(matmul(Variable(a), Variable(b)).value, Reference.matmul(a, b), relativeTolerance: 1e-4, absoluteTolerance: 1e-4)
        let x = Inputs.normal([300, 128], scale: 2)
        expectClose(softmax(Variable(x)).value, Reference.softmax(x), relativeTolerance: 1e-4, absoluteTolerance: 1e-6)
        let (w, bias) = (Inputs.normal([128], seed: 3), Inputs.normal([128], seed: 4))
        expectClose(
            layerNorm(Variable(x), weight: Variable(w), bias: Variable(bias)).value, Reference.layerNorm(x, w, bias),
            relativeTolerance: 1e-4, absoluteTolerance: 1e-4)
        expectClose(sum(Variable(x), axis: 0).value, Reference.sum(x, axis: 0).reshaped([128]), relativeTolerance: 1e-4, absoluteTolerance: 1e-4)
        let y = Inputs.normal([40, 30, 50])
        expectClose(sum(Variable(y), axis: 1).value, Reference.sum(y, axis: 1).reshaped([40, 50]), relativeTolerance: 1e-4, absoluteTolerance: 1e-4)
        expectClose(Variable(y).permuted.value, Reference.permute(y, [2, 0, 1]))
        let bias2 = Inputs.normal([50], seed: 5)
        expectClose((Variable(y) + Variable(bias2)).value, Reference.binary(y, bias2, +))
        let (q, k, v) = (Inputs.normal([64, 40, 8]), Inputs.normal([64, 40, 8], seed: 6), Inputs.normal([64, 40, 4], seed: 7))
        expectClose(
            causalLinearAttention(query: Variable(q), key: Variable(k), value: Variable(v), chunkSize: 16).value,
            Reference.causalLinearAttention(q, k, v, normalized: true), relativeTolerance: 1e-4, absoluteTolerance: 1e-4)
    }

    @Test("backward at parallel sizes: fused ops against composites, scatter-add against a loop")
    func backward() throws {
        let x = Inputs.normal([256, 96], scale: 2)
        let (w, b) = (Inputs.normal([96], seed: 3), Inputs.normal([96], seed: 4))
        let seed = Inputs.normal([256, 96], seed: 9)
        func gradients(_ f: ([Variable]) -> Variable) -> [Tensor] {
            let tape = Tape(isTraining: false)
            let inputs = [x, w, b].map { tape.input($0) }
            tape.backward(from: f(inputs), seed: seed)
            return inputs.map { tape.gradient(of: $0)! }
        }
        let fused = gradients { layerNorm($0[0], weight: $0[1], bias: $0[2]) }
        let composite = gradients { v in
            let centered = v[0] - mean(v[0], axis: -1, keepingDimension: true)
            return centered / sqrt(mean(centered * centered, axis: -1, keepingDimension: true) + 1e-5) * v[1] + v[2]
        }
        for (f, c) in zip(fused, composite) { expectClose(f, c, relativeTolerance: 1e-3, absoluteTolerance: 1e-4) }

        // Embedding scatter-add, many repeats, against a plain loop.
        let table = Inputs.normal([50, 64])
        let ids = (0..<2000).map { ($0 * 7919) % 50 }
        let upstream = Inputs.normal([2000, 64], seed: 11)
        let tape = Tape()
        let t = tape.input(table)
        tape.backward(from: embedding(t, ids: ids), seed: upstream)
        var expected = [Double](repeating: 0, count: 50 * 64)
        for (n, id) in ids.enumerated() { for j in 0..<64 { expected[id * 64 + j] += Double(upstream[n, j]) } }
        expectClose(try #require(tape.gradient(of: t)), Tensor(shape: [50, 64], scalars: expected.map(Float.init)), relativeTolerance: 1e-4, absoluteTolerance: 1e-4)
    }
}

extension Variable {
    fileprivate var permuted: Variable { permute(self, [2, 0, 1]) }
}

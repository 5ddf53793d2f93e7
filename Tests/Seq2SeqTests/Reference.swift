import Foundation
import Seq2Seq

/// Naive reference computations in Double, written independently of the kernels (index arithmetic by
/// division, triple loops): the "independent computation" each op's forward is checked against.
enum Reference {
    static func shapeCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Multi-index of flat index `i` in `shape`.
    static func indices(_ i: Int, _ shape: [Int]) -> [Int] {
        var result = [Int](repeating: 0, count: shape.count)
        var rest = i
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            result[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return result
    }

    static func flat(_ index: [Int], _ shape: [Int]) -> Int {
        var offset = 0
        for (axis, i) in index.enumerated() { offset = offset * shape[axis] + i }
        return offset
    }

    /// Element of `t` at `index` (of a broadcast result shape), numpy broadcasting.
    static func broadcastElement(_ t: Tensor, _ index: [Int]) -> Double {
        let padding = index.count - t.rank
        let own = (0..<t.rank).map { t.shape[$0] == 1 ? 0 : index[$0 + padding] }
        return Double(t.scalars[flat(own, t.shape)])
    }

    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a
        let pb = [Int](repeating: 1, count: rank - b.count) + b
        return zip(pa, pb).map { max($0, $1) }
    }

    static func binary(_ a: Tensor, _ b: Tensor, _ f: (Double, Double) -> Double) -> Tensor {
        let shape = broadcastShape(a.shape, b.shape)
        let values = (0..<shapeCount(shape)).map { i -> Float in
            let index = indices(i, shape)
            return Float(f(broadcastElement(a, index), broadcastElement(b, index)))
        }
        return Tensor(shape: shape, scalars: values)
    }

    static func map(_ x: Tensor, _ f: (Double) -> Double) -> Tensor {
        Tensor(shape: x.shape, scalars: x.scalars.map { Float(f(Double($0))) })
    }

    /// `op(a)·op(b)` for the trailing two axes, batch axes equal (or b a single matrix).
    static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        let ra = a.rank
        let rb = b.rank
        let m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2]
        let k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1]
        let n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1]
        let batchShape = Array(a.shape.dropLast(2))
        let batch = shapeCount(batchShape)
        var out = [Float](repeating: 0, count: batch * m * n)
        for item in 0..<batch {
            let aBase = item * a.shape[ra - 2] * a.shape[ra - 1]
            let bBase = rb == 2 ? 0 : item * b.shape[rb - 2] * b.shape[rb - 1]
            for i in 0..<m {
                for j in 0..<n {
                    var total = 0.0
                    for p in 0..<k {
                        let x = transposeA ? a.scalars[aBase + p * m + i] : a.scalars[aBase + i * k + p]
                        let y = transposeB ? b.scalars[bBase + j * k + p] : b.scalars[bBase + p * n + j]
                        total += Double(x) * Double(y)
                    }
                    out[item * m * n + i * n + j] = Float(total)
                }
            }
        }
        return Tensor(shape: batchShape + [m, n], scalars: out)
    }

    static func permute(_ x: Tensor, _ axes: [Int]) -> Tensor {
        let shape = axes.map { x.shape[$0] }
        let values = (0..<x.count).map { i -> Float in
            let outIndex = indices(i, shape)
            var inIndex = [Int](repeating: 0, count: axes.count)
            for (position, axis) in axes.enumerated() { inIndex[axis] = outIndex[position] }
            return x.scalars[flat(inIndex, x.shape)]
        }
        return Tensor(shape: shape, scalars: values)
    }

    /// Sum over `axis`, keeping it with extent 1.
    static func sum(_ x: Tensor, axis: Int) -> Tensor {
        var shape = x.shape
        shape[axis] = 1
        var out = [Double](repeating: 0, count: shapeCount(shape))
        for i in 0..<x.count {
            var index = indices(i, x.shape)
            index[axis] = 0
            out[flat(index, shape)] += Double(x.scalars[i])
        }
        return Tensor(shape: shape, scalars: out.map(Float.init))
    }

    /// Rows of the last axis, with a per-row transform.
    static func rows(_ x: Tensor, _ f: ([Double], Int) -> [Double]) -> Tensor {
        let columns = x.shape.last!
        var out = [Float]()
        for r in 0..<(x.count / columns) {
            out += f((0..<columns).map { Double(x.scalars[r * columns + $0]) }, r).map(Float.init)
        }
        return Tensor(shape: x.shape, scalars: out)
    }

    /// Softmax (or log-softmax) per row, skipping entries where `masked(row, column)`.
    static func softmax(_ x: Tensor, log: Bool = false, masked: (Int, Int) -> Bool = { _, _ in false }) -> Tensor {
        rows(x) { row, r in
            let kept = row.indices.filter { !masked(r, $0) }
            let maximum = kept.map { row[$0] }.max() ?? 0
            let total = kept.map { Foundation.exp(row[$0] - maximum) }.reduce(0, +)
            return row.indices.map { j in
                if masked(r, j) { return log ? -.infinity : 0 }
                return log ? row[j] - maximum - Foundation.log(total) : Foundation.exp(row[j] - maximum) / total
            }
        }
    }

    static func layerNorm(_ x: Tensor, _ weight: Tensor, _ bias: Tensor, epsilon: Double = 1e-5) -> Tensor {
        rows(x) { row, _ in
            let mean = row.reduce(0, +) / Double(row.count)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(row.count)
            return row.indices.map { j in
                (row[j] - mean) / (variance + epsilon).squareRoot() * Double(weight.scalars[j]) + Double(bias.scalars[j])
            }
        }
    }

    /// y_t = c_t Σ_{s≤t} (q_t·k_s) v_s by the definition, O(m²).
    static func causalLinearAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, normalized: Bool) -> Tensor {
        let rank = q.rank
        let (m, a, b) = (q.shape[rank - 2], q.shape[rank - 1], v.shape[rank - 1])
        let groups = q.count / (m * a)
        var out = [Float](repeating: 0, count: groups * m * b)
        for g in 0..<groups {
            for t in 0..<m {
                for j in 0..<b {
                    var total = 0.0
                    for s in 0...t {
                        var dot = 0.0
                        for p in 0..<a { dot += Double(q.scalars[(g * m + t) * a + p]) * Double(k.scalars[(g * m + s) * a + p]) }
                        total += dot * Double(v.scalars[(g * m + s) * b + j])
                    }
                    out[(g * m + t) * b + j] = Float(normalized ? total / Double(t + 1) : total)
                }
            }
        }
        return Tensor(shape: v.shape, scalars: out)
    }
}

/// Deterministic test inputs.
enum Inputs {
    /// Normal entries, seeded by `seed`.
    static func normal(_ shape: [Int], seed: UInt64 = 1, scale: Float = 1) -> Tensor {
        var generator = SplitMix64(seed: seed)
        return Tensor.normal(shape, standardDeviation: scale, generator: &generator)
    }

    /// Entries of magnitude in [0.2, 1.2] with random signs: no kink of relu/elu within a finite-difference step.
    static func awayFromZero(_ shape: [Int], seed: UInt64 = 2) -> Tensor {
        var generator = SplitMix64(seed: seed)
        let values = (0..<shape.reduce(1, *)).map { _ -> Float in
            let magnitude = 0.2 + generator.nextUniform()
            return generator.nextUniform() < 0.5 ? -magnitude : magnitude
        }
        return Tensor(shape: shape, scalars: values)
    }

    /// Entries in [0.5, 1.5].
    static func positive(_ shape: [Int], seed: UInt64 = 3) -> Tensor {
        var generator = SplitMix64(seed: seed)
        return Tensor.uniform(shape, low: 0.5, high: 1.5, generator: &generator)
    }
}

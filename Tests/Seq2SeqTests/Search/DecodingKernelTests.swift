import Foundation
import Testing

@testable import Seq2Seq

/// The decoding kernels that reorder arithmetic for speed must give the bits of the plain loops they replace:
/// decoding outputs are compared byte for byte across versions.
@Suite("Decoding kernels equal their plain loops bit for bit")
struct DecodingKernelTests {
    /// Values of varied magnitude and sign, so that a changed order of additions would round differently.
    func values(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            Float(Double(generator.next() % 2_000_001) / 1_000_000 - 1) * Float(1 << Int(generator.next() % 12))
        }
    }

    @Test("an 8×8 block transposed in registers")
    func transpose() {
        let block = (0..<64).map(Float.init)
        let rows = block.withUnsafeBufferPointer { p in
            (0..<8).map { load8(p.baseAddress! + 8 * $0) }
        }
        let columns = transposed((rows[0], rows[1], rows[2], rows[3], rows[4], rows[5], rows[6], rows[7]))
        let got = [columns.0, columns.1, columns.2, columns.3, columns.4, columns.5, columns.6, columns.7]
        for j in 0..<8 {
            for i in 0..<8 { #expect(got[j][i] == Float(8 * i + j)) }
        }
    }

    /// `e[l] = Σ_j q[j]·S[l, j]` from S `[rows, width]` equals the column sweep over Sᵀ `[width, rows]` that
    /// causal Luna ran on S^K before it kept only S^V: `e = 0; for j { e += q[j]·Sᵀ[j, :] }`.
    @Test("rows of S dotted with q equal the sweep over the columns of Sᵀ", arguments: [(16, 64), (13, 64), (5, 32), (16, 12), (9, 8)])
    func transposedProductMatchesSweep(rows: Int, width: Int) {
        let s = values(rows * width, seed: UInt64(rows * 100 + width))
        let q = values(width, seed: 7)
        var sweep = [Float](repeating: 0, count: rows)
        for j in 0..<width {
            for l in 0..<rows { sweep[l] = sweep[l] + q[j] * s[l * width + j] }
        }
        var e = [Float](repeating: .nan, count: rows)
        s.withUnsafeBufferPointer { s in
            q.withUnsafeBufferPointer { q in
                e.withUnsafeMutableBufferPointer { e in
                    transposedProduct(s.baseAddress!, rows: rows, width: width, q.baseAddress!, into: e.baseAddress!)
                }
            }
        }
        #expect(e.map(\.bitPattern) == sweep.map(\.bitPattern))
        // The order matters at these magnitudes: summing in another order gives other bits somewhere.
        let pairwise = (0..<rows).map { l in (0..<width).map { q[$0] * s[l * width + $0] }.reversed().reduce(0, +) }
        #expect(pairwise.map(\.bitPattern) != sweep.map(\.bitPattern))
    }

    /// Layer norm of rows taken four at a time equals the one-row loop (sum, mean, squared deviations, all in
    /// the order of j), for every row count around the groups of four and both thread paths.
    @Test("layer norm four rows at a time equals one row at a time", arguments: [1, 3, 4, 7, 130])
    func layerNormRows(rows: Int) {
        let columns = 256
        let x = values(rows * columns, seed: UInt64(rows))
        let (weight, bias) = (values(columns, seed: 11), values(columns, seed: 12))
        var expected = [Float](repeating: 0, count: rows * columns)
        var expectedMean = [Float](repeating: 0, count: rows), expectedRstd = expectedMean
        for r in 0..<rows {
            var sum: Float = 0
            for j in 0..<columns { sum += x[r * columns + j] }
            let mu = sum / Float(columns)
            var squares: Float = 0
            for j in 0..<columns {
                let d = x[r * columns + j] - mu
                squares += d * d
            }
            let s = 1 / (squares / Float(columns) + 1e-5).squareRoot()
            for j in 0..<columns { expected[r * columns + j] = (x[r * columns + j] - mu) * s * weight[j] + bias[j] }
            (expectedMean[r], expectedRstd[r]) = (mu, s)
        }
        var y = [Float](repeating: .nan, count: rows * columns)
        var mean = [Float](repeating: .nan, count: rows), rstd = mean
        layerNormKernel(
            &y, mean: &mean, rstd: &rstd, x, weight: weight, bias: bias, rows: rows, columns: columns, epsilon: 1e-5)
        #expect(y.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(mean.map(\.bitPattern) == expectedMean.map(\.bitPattern))
        #expect(rstd.map(\.bitPattern) == expectedRstd.map(\.bitPattern))
    }

    /// The feed-forward's ReLU applied inside the product equals max(·, 0) afterwards, on both product paths.
    @Test("a product with ReLU equals the product, then max(·, 0)", arguments: [3, 40])
    func rectifiedProduct(rows: Int) {
        let (inputs, outputs) = (32, 256)
        let x = values(rows * inputs, seed: 21)
        let w = values(outputs * inputs, seed: 22)
        let b = values(outputs, seed: 23)
        let panels = panelWeights(w, outputs: outputs, inputs: inputs)
        func product(relu: Bool) -> [Float] {
            var y = [Float](repeating: .nan, count: rows * outputs)
            y.withUnsafeMutableBufferPointer { y in
                decoderLinear(
                    x, rows: rows, inputs: inputs, weight: w, panels: panels, bias: b, outputs: outputs,
                    into: y.baseAddress!, relu: relu)
            }
            return y
        }
        let plain = product(relu: false)
        #expect(plain.contains { $0 < 0 })
        #expect(product(relu: true).map(\.bitPattern) == plain.map { max($0, 0) }.map(\.bitPattern))
    }
}

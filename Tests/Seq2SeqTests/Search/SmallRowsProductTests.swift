import Testing

@testable import Seq2Seq

/// The few-row product of decoding (``smallRowsProduct``), which keeps tiles of up to six rows × sixteen
/// columns in registers, must give the bits of the plain loop: for each output, the sum from zero in the order
/// of k, then the bias added (decoding outputs are compared byte for byte across versions).
@Suite("Few-row products over weight panels equal the plain loop bit for bit")
struct SmallRowsProductTests {
    /// Values of varied magnitude and sign, so that a changed order of additions would round differently (the
    /// decoding kernels' tests' own).
    func values(_ count: Int, seed: UInt64) -> [Float] { DecodingKernelTests().values(count, seed: seed) }

    /// `y[r, c] = b[c] + Σ_k x[r, k]·W[c, k]`, one multiplication and one addition at a time.
    func plainProduct(_ x: [Float], rows: Int, inputs: Int, _ w: [Float], outputs: Int, bias: [Float]?) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outputs)
        for r in 0..<rows {
            for c in 0..<outputs {
                var sum: Float = 0
                for k in 0..<inputs { sum = sum + x[r * inputs + k] * w[c * inputs + k] }
                y[r * outputs + c] = (bias?[c] ?? 0) + sum
            }
        }
        return y
    }

    /// Every row count the kernel takes (tiles of one to six rows over sixteen columns, seven and eight over
    /// eight), 40 outputs (two sixteen-column tiles and an eight-column tail), with and without a bias.
    @Test("rows 1 to 8, sixteen- and eight-column tiles", arguments: 1...8, [false, true])
    func matchesPlainLoop(rows: Int, withBias: Bool) {
        let (inputs, outputs) = (37, 40)
        let x = values(rows * inputs, seed: UInt64(rows))
        let w = values(outputs * inputs, seed: 100)
        let bias = withBias ? values(outputs, seed: 200) : nil
        let expected = plainProduct(x, rows: rows, inputs: inputs, w, outputs: outputs, bias: bias)
        let panels = panelWeights(w, outputs: outputs, inputs: inputs)
        var y = [Float](repeating: .nan, count: rows * outputs)
        y.withUnsafeMutableBufferPointer { y in
            if let bias {
                smallRowsProduct(x, rows: rows, inputs: inputs, panels: panels, bias: bias, columns: 0..<outputs, into: y.baseAddress!, ldy: outputs)
            } else {
                smallRowsProduct(x, rows: rows, inputs: inputs, panels: panels, bias: nil, columns: 0..<outputs, into: y.baseAddress!, ldy: outputs)
            }
        }
        #expect(y.map(\.bitPattern) == expected.map(\.bitPattern))
        // The order matters at these magnitudes: summing k backwards gives other bits somewhere.
        let backwards = (0..<(rows * outputs)).map { i in
            let (r, c) = (i / outputs, i % outputs)
            return (bias?[c] ?? 0) + (0..<inputs).reversed().reduce(Float(0)) { $0 + x[r * inputs + $1] * w[c * inputs + $1] }
        }
        #expect(backwards.map(\.bitPattern) != expected.map(\.bitPattern))
    }

    /// A range of columns that starts past zero and ends on an eight-column tail writes exactly those columns
    /// of rows `ldy` apart, as the threads' shares of a product do.
    @Test("a column range of a wider output, rows apart by ldy", arguments: [1, 5, 8])
    func columnRange(rows: Int) {
        let (inputs, outputs, ldy) = (16, 56, 60)
        let x = values(rows * inputs, seed: 7)
        let w = values(outputs * inputs, seed: 8)
        let bias = values(outputs, seed: 9)
        let expected = plainProduct(x, rows: rows, inputs: inputs, w, outputs: outputs, bias: bias)
        let panels = panelWeights(w, outputs: outputs, inputs: inputs)
        let columns = 8..<48  // two sixteen-column tiles and one eight-column tail
        var y = [Float](repeating: .nan, count: rows * ldy)
        y.withUnsafeMutableBufferPointer { y in
            smallRowsProduct(x, rows: rows, inputs: inputs, panels: panels, bias: bias, columns: columns, into: y.baseAddress!, ldy: ldy)
        }
        for r in 0..<rows {
            for c in 0..<ldy {
                if columns.contains(c) {
                    #expect(y[r * ldy + c].bitPattern == expected[r * outputs + c].bitPattern, "row \(r), column \(c)")
                } else {
                    #expect(y[r * ldy + c].isNaN, "row \(r), column \(c) outside the range was written")
                }
            }
        }
    }

    /// The decoder's entry point takes the panel path up to eight rows and splits the columns over threads
    /// (a large output makes enough work for two); the result is the plain loop's whatever the split.
    @Test("decoderLinear over panels, large enough to run on two threads", arguments: [1, 5])
    func decoderLinearPanels(rows: Int) {
        let (inputs, outputs) = (128, 1_032)
        let x = values(rows * inputs, seed: 31)
        let w = values(outputs * inputs, seed: 32)
        let bias = values(outputs, seed: 33)
        let expected = plainProduct(x, rows: rows, inputs: inputs, w, outputs: outputs, bias: bias)
        let panels = panelWeights(w, outputs: outputs, inputs: inputs)
        var y = [Float](repeating: .nan, count: rows * outputs)
        y.withUnsafeMutableBufferPointer { y in
            decoderLinear(
                x, rows: rows, inputs: inputs, weight: w, panels: panels, bias: bias, outputs: outputs,
                into: y.baseAddress!)
        }
        #expect(y.map(\.bitPattern) == expected.map(\.bitPattern))
    }
}

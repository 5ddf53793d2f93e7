import Foundation

/// Where the mask row of each softmax row lives: the mask is broadcast over the leading axes of the
/// scores, and its last extent equals the row length.
struct RowMask {
    let pointer: UnsafePointer<Float>
    let shape: [Int]  // the scores' shape
    let strides: [Int]  // the mask's strides along the scores' axes (0 = broadcast)

    @inline(__always) func row(_ r: Int) -> UnsafePointer<Float> { pointer + rowOffset(r, shape: shape, strides: strides) }
}

/// Row-wise softmax (or log-softmax) over the last axis of a `[rows, columns]` matrix.
///
/// Masked entries (mask ≠ 0) get probability 0 (log-probability −∞). The row maximum is subtracted before
/// `exp` so that no term overflows; a row with every entry masked becomes all 0 (all −∞ for log) rather
/// than NaN.
func softmaxKernel(
    _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, columns: Int, mask: RowMask?, log: Bool
) {
    Parallel.forEachRange(rows, work: rows * columns * 8) { range in
        for r in range {
            let input = x + r * columns
            let output = y + r * columns
            let m = mask?.row(r)
            var maximum = -Float.infinity
            for j in 0..<columns where m == nil || m![j] == 0 { maximum = max(maximum, input[j]) }
            if maximum == -Float.infinity {
                for j in 0..<columns { output[j] = log ? -Float.infinity : 0 }
                continue
            }
            if log {
                var total: Float = 0
                for j in 0..<columns where m == nil || m![j] == 0 { total += fastExp(input[j] - maximum) }
                let shift = maximum + Foundation.log(total)
                for j in 0..<columns { output[j] = (m != nil && m![j] != 0) ? -Float.infinity : input[j] - shift }
                continue
            }
            // e^{x − max} ≤ 1 never overflows; computed in a loop of its own so that it vectorises
            // (and may run in place, y == x).
            if let m {
                for j in 0..<columns { output[j] = m[j] != 0 ? 0 : fastExp(input[j] - maximum) }
            } else {
                for j in 0..<columns { output[j] = fastExp(input[j] - maximum) }
            }
            var total: Float = 0
            for j in 0..<columns { total += output[j] }
            let inverse = 1 / total
            for j in 0..<columns { output[j] *= inverse }
        }
    }
}

/// Backward of ``softmaxKernel``: `dx (+)= y ⊙ (g − Σ g⊙y)` for softmax, `dx (+)= g − eʸ·Σ g` for
/// log-softmax; masked entries get no gradient.
///
/// With `dropped` (softmax only): the gradient through dropout then softmax, where `dropped` is the
/// probabilities after inverted dropout and `g` the gradient with respect to them. Since `dropped` is
/// `y·mask/(1 − p)`, the chain `y ⊙ (g̃ − Σ g̃⊙y)` with `g̃ = g ⊙ mask/(1 − p)` equals
/// `dropped ⊙ g − y·Σ dropped⊙g`: the mask never has to be regenerated.
func softmaxBackwardKernel(
    _ dx: UnsafeMutablePointer<Float>, accumulate: Bool, _ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
    rows: Int, columns: Int, mask: RowMask?, log: Bool, dropped: UnsafePointer<Float>? = nil
) {
    Parallel.forEachRange(rows, work: rows * columns * 4) { range in
        for r in range {
            let (gr, yr, dr) = (g + r * columns, y + r * columns, dx + r * columns)
            let wr = (dropped ?? y) + r * columns  // the weights g multiplies
            let m = mask?.row(r)
            var dot: Float = 0
            if log {
                for j in 0..<columns where m == nil || m![j] == 0 { dot += gr[j] }
            } else {
                for j in 0..<columns { dot += gr[j] * wr[j] }
            }
            for j in 0..<columns {
                var v: Float
                if let m, m[j] != 0 {
                    v = 0
                } else if log {
                    v = gr[j] - fastExp(yr[j]) * dot
                } else {
                    v = wr[j] * gr[j] - yr[j] * dot
                }
                if accumulate { v += dr[j] }
                dr[j] = v
            }
        }
    }
}

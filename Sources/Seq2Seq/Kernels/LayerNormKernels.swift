/// Layer normalisation of each row of a `[rows, columns]` matrix:
/// `y = (x − μ)·rstd·γ + β` with `μ` the row mean, `rstd = 1/√(σ² + ε)` (biased variance, as PyTorch).
/// Saves `mean` and `rstd` (one per row) for the backward.
func layerNormKernel(
    _ y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    rows: Int, columns: Int, epsilon: Float
) {
    // Writes row r of y from its mean and its sum of squared deviations. Two passes (mean, then squared
    // deviations) avoid the cancellation of E[x²] − E[x]².
    @inline(__always)
    func normalizeRow(_ r: Int, mu: Float, squares: Float) {
        let (input, output) = (x + r * columns, y + r * columns)
        let s = 1 / (squares / Float(columns) + epsilon).squareRoot()
        for j in 0..<columns { output[j] = (input[j] - mu) * s * weight[j] + bias[j] }
        mean[r] = mu
        rstd[r] = s
    }
    Parallel.forEachRange(rows, work: rows * columns * 3) { range in
        // Four rows at a time: their sums are four independent chains of additions, which the core overlaps
        // (one row's sum waits on each addition in turn). Each row's sums keep the order of j.
        var r = range.lowerBound
        while r + 4 <= range.upperBound {
            let (x0, x1, x2, x3) = (x + r * columns, x + (r + 1) * columns, x + (r + 2) * columns, x + (r + 3) * columns)
            var (sum0, sum1, sum2, sum3): (Float, Float, Float, Float) = (0, 0, 0, 0)
            for j in 0..<columns {
                sum0 += x0[j]
                sum1 += x1[j]
                sum2 += x2[j]
                sum3 += x3[j]
            }
            let (mu0, mu1, mu2, mu3) = (sum0 / Float(columns), sum1 / Float(columns), sum2 / Float(columns), sum3 / Float(columns))
            var (squares0, squares1, squares2, squares3): (Float, Float, Float, Float) = (0, 0, 0, 0)
            for j in 0..<columns {
                let (d0, d1, d2, d3) = (x0[j] - mu0, x1[j] - mu1, x2[j] - mu2, x3[j] - mu3)
                squares0 += d0 * d0
                squares1 += d1 * d1
                squares2 += d2 * d2
                squares3 += d3 * d3
            }
            normalizeRow(r, mu: mu0, squares: squares0)
            normalizeRow(r + 1, mu: mu1, squares: squares1)
            normalizeRow(r + 2, mu: mu2, squares: squares2)
            normalizeRow(r + 3, mu: mu3, squares: squares3)
            r += 4
        }
        for r in r..<range.upperBound {
            let input = x + r * columns
            var sum: Float = 0
            for j in 0..<columns { sum += input[j] }
            let mu = sum / Float(columns)
            var squares: Float = 0
            for j in 0..<columns {
                let d = input[j] - mu
                squares += d * d
            }
            normalizeRow(r, mu: mu, squares: squares)
        }
    }
}

/// Backward of ``layerNormKernel``, with `n̂ = (x − μ)·rstd`:
/// - `dx (+)= rstd·(dn̂ − mean(dn̂) − n̂·mean(dn̂ ⊙ n̂))` where `dn̂ = dy ⊙ γ`;
/// - `dγ (+)= Σ_rows dy ⊙ n̂`, `dβ (+)= Σ_rows dy`.
///
/// `dγ`/`dβ` are summed per fixed block of rows and the blocks added in order, so the result does not
/// depend on the thread count. Any of `dx`, `dWeight`, `dBias` may be nil (no gradient wanted).
func layerNormBackwardKernel(
    dx: UnsafeMutablePointer<Float>?, accumulateX: Bool,
    dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
    _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, columns: Int
) {
    let blockRows = 64
    let blocks = (rows + blockRows - 1) / blockRows
    let wantsParameters = dWeight != nil || dBias != nil
    var partials = [Float](repeating: 0, count: wantsParameters ? 2 * blocks * columns : 0)
    partials.withUnsafeMutableBufferPointer { partials in
        let partials = partials.baseAddress
        Parallel.forEachRange(blocks, work: rows * columns * 4) { range in
            for block in range {
                let dW = partials.map { $0 + 2 * block * columns }
                let dB = dW.map { $0 + columns }
                for r in (block * blockRows)..<min(rows, (block + 1) * blockRows) {
                    let (gr, xr) = (g + r * columns, x + r * columns)
                    let (mu, s) = (mean[r], rstd[r])
                    if let dW, let dB {
                        for j in 0..<columns {
                            dW[j] += gr[j] * (xr[j] - mu) * s
                            dB[j] += gr[j]
                        }
                    }
                    guard let dx else { continue }
                    // term 1: mean of dn̂; term 2: mean of dn̂ ⊙ n̂
                    var meanD: Float = 0
                    var meanDN: Float = 0
                    for j in 0..<columns {
                        let dn = gr[j] * weight[j]
                        meanD += dn
                        meanDN += dn * (xr[j] - mu) * s
                    }
                    meanD /= Float(columns)
                    meanDN /= Float(columns)
                    let out = dx + r * columns
                    for j in 0..<columns {
                        let n = (xr[j] - mu) * s
                        let v = s * (gr[j] * weight[j] - meanD - n * meanDN)
                        out[j] = accumulateX ? out[j] + v : v
                    }
                }
            }
        }
        guard let partials else { return }
        for block in 0..<blocks {
            let dW = partials + 2 * block * columns
            let dB = dW + columns
            if let dWeight { for j in 0..<columns { dWeight[j] += dW[j] } }
            if let dBias { for j in 0..<columns { dBias[j] += dB[j] } }
        }
    }
}

/// Layer normalisation of each row of a `[rows, columns]` matrix:
/// `y = (x − μ)·rstd·γ + β` with `μ` the row mean, `rstd = 1/√(σ² + ε)` (biased variance, as PyTorch).
/// Saves `mean` and `rstd` (one per row) for the backward.
func layerNormKernel(
    _ y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    rows: Int, columns: Int, epsilon: Float
) {
    Parallel.forEachRange(rows, work: rows * columns * 3) { range in
        for r in range {
            let input = x + r * columns
            let output = y + r * columns
            var sum: Float = 0
            for j in 0..<columns { sum += input[j] }
            let mu = sum / Float(columns)
            // Two passes (mean, then squared deviations) avoid the cancellation of E[x²] − E[x]².
            var squares: Float = 0
            for j in 0..<columns {
                let d = input[j] - mu
                squares += d * d
            }
            let s = 1 / (squares / Float(columns) + epsilon).squareRoot()
            for j in 0..<columns { output[j] = (input[j] - mu) * s * weight[j] + bias[j] }
            mean[r] = mu
            rstd[r] = s
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

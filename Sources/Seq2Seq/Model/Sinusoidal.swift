import Foundation

// Reference: fairseq `fairseq/modules/sinusoidal_positional_embedding.py` (`get_embedding`).

/// The fixed sinusoidal position table of fairseq: sine half first, then cosine half (not interleaved).
///
/// Concretely, with h = d/2 and fᵢ = exp(−i·ln(10000)/(h − 1)):
/// ```
/// S[p] = [sin(p·f₀) … sin(p·f_{h−1}) | cos(p·f₀) … cos(p·f_{h−1})]
/// ```
/// Token t of a sentence (0-based) gets position `position_offset + t`; Luna's P slots get 0 … L−1.
public enum Sinusoid {
    /// The rows of S for `positions`, shape `[positions.count, dimension]`.
    /// - Precondition: `dimension` is even and at least 4 (h − 1 > 0).
    public static func table(positions: Range<Int>, dimension: Int) -> Tensor {
        precondition(dimension % 2 == 0 && dimension >= 4, "Sinusoid: dimension \(dimension) must be even and ≥ 4")
        let half = dimension / 2
        // Computed in Double and rounded once: fairseq computes in float32, which differs by ~1 ulp.
        let step = Foundation.log(10000.0) / Double(half - 1)
        let frequencies = (0..<half).map { Foundation.exp(-Double($0) * step) }
        var scalars = [Float](repeating: 0, count: positions.count * dimension)
        for (row, position) in positions.enumerated() {
            for i in 0..<half {
                let angle = Double(position) * frequencies[i]
                scalars[row * dimension + i] = Float(Foundation.sin(angle))
                scalars[row * dimension + half + i] = Float(Foundation.cos(angle))
            }
        }
        return Tensor(shape: [positions.count, dimension], scalars: scalars)
    }
}

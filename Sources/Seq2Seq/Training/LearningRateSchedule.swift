import Foundation

/// The inverse-square-root schedule with linear warmup (fairseq's `inverse_sqrt`, the
/// Transformer paper's schedule up to a constant).
///
/// Concretely, for update `step ≥ 1`:
/// ```
/// lr(step) = peak · min(step / warmup, √(warmup / step))
/// ```
/// so the rate climbs linearly to `peak` at `step = warmup`, then decays as `1/√step`.
public struct InverseSquareRootSchedule: Sendable, Equatable {
    public let peak: Double
    public let warmupUpdates: Int

    public init(peak: Double, warmupUpdates: Int) {
        precondition(peak > 0 && warmupUpdates > 0)
        self.peak = peak
        self.warmupUpdates = warmupUpdates
    }

    /// The learning rate of update `step` (counted from 1; 0 is treated as 1).
    public func learningRate(at step: Int) -> Double {
        let s = Double(max(step, 1)), w = Double(warmupUpdates)
        return peak * min(s / w, (w / s).squareRoot())
    }
}

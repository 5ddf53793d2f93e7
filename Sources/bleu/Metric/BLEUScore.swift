import Foundation

/// A BLEU score with the details sacreBLEU prints: precisions, brevity penalty, lengths.
public struct BLEUScore: Sendable, Equatable {
    /// BLEU on the 0–100 scale.
    public var score: Double
    /// The statistics it was computed from, after smoothing (add-k adds to orders 2 and up).
    public var correct: [Double]
    public var total: [Double]
    /// Modified n-gram precisions in percent, orders 1 to 4.
    public var precisions: [Double]
    /// The brevity penalty, `exp(1 - r/c)` when the hypotheses are shorter, else 1.
    public var brevityPenalty: Double
    public var hypothesisLength: Int
    public var referenceLength: Int

    /// Hypothesis length over reference length (0 when there is no reference word).
    public var ratio: Double {
        referenceLength == 0 ? 0 : Double(hypothesisLength) / Double(referenceLength)
    }

    /// sacreBLEU's verbose part: `67.0/41.0/28.2/19.9 (BP = 1.000 ratio = 1.012 hyp_len = 62880 ref_len = 61287)`.
    public var verbose: String {
        let precisionText = precisions.map { PythonFormat.fixed($0, 1) }.joined(separator: "/")
        return "\(precisionText) (BP = \(PythonFormat.fixed(brevityPenalty, 3)) "
            + "ratio = \(PythonFormat.fixed(ratio, 3)) hyp_len = \(hypothesisLength) "
            + "ref_len = \(referenceLength))"
    }
}

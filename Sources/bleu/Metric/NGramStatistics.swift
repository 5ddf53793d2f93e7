/// BLEU's sufficient statistics: per n-gram order, the clipped matches and the hypothesis n-grams,
/// plus the hypothesis length and the closest reference length.
///
/// They add up: the statistics of a corpus are the sum of its segments', so BLEU over batches
/// (during training) is `BLEU.score(batches.reduce(.zero, +))`, exactly the corpus score.
///
/// Concretely, for a segment with hypothesis n-gram counts `h(g)` and references `r_k`:
/// ```
/// correct[n-1] = Σ_{|g|=n} min(h(g), max_k r_k(g))
/// total[n-1]   = max(0, hypothesisLength - n + 1)
/// referenceLength = the r_k length closest to hypothesisLength (the shorter on a tie)
/// ```
public struct NGramStatistics: Sendable, Equatable, Hashable, AdditiveArithmetic {
    /// The number of n-gram orders (BLEU-4).
    public static let maxOrder = 4

    /// Words in the hypotheses.
    public var hypothesisLength: Int
    /// Words in the closest references.
    public var referenceLength: Int
    /// Clipped n-gram matches, orders 1 to 4.
    public var correct: [Int]
    /// Hypothesis n-grams, orders 1 to 4.
    public var total: [Int]

    /// Statistics from their parts; `correct` and `total` hold one count per order.
    public init(hypothesisLength: Int, referenceLength: Int, correct: [Int], total: [Int]) {
        precondition(correct.count == Self.maxOrder && total.count == Self.maxOrder,
            "NGramStatistics: \(correct.count) correct and \(total.count) total counts, need \(Self.maxOrder)")
        self.hypothesisLength = hypothesisLength
        self.referenceLength = referenceLength
        self.correct = correct
        self.total = total
    }

    /// No segments.
    public static var zero: NGramStatistics {
        NGramStatistics(hypothesisLength: 0, referenceLength: 0, correct: [0, 0, 0, 0], total: [0, 0, 0, 0])
    }

    public static func + (lhs: NGramStatistics, rhs: NGramStatistics) -> NGramStatistics {
        var sum = lhs
        sum += rhs
        return sum
    }

    public static func += (lhs: inout NGramStatistics, rhs: NGramStatistics) {
        lhs.hypothesisLength += rhs.hypothesisLength
        lhs.referenceLength += rhs.referenceLength
        for n in 0..<maxOrder {
            lhs.correct[n] += rhs.correct[n]
            lhs.total[n] += rhs.total[n]
        }
    }

    public static func - (lhs: NGramStatistics, rhs: NGramStatistics) -> NGramStatistics {
        var difference = lhs
        difference.hypothesisLength -= rhs.hypothesisLength
        difference.referenceLength -= rhs.referenceLength
        for n in 0..<maxOrder {
            difference.correct[n] -= rhs.correct[n]
            difference.total[n] -= rhs.total[n]
        }
        return difference
    }

    /// sacreBLEU's flat layout: `[hyp_len, ref_len, correct..., total...]`.
    public var flattened: [Int] { [hypothesisLength, referenceLength] + correct + total }
}

/// Per-segment statistics stored flat, ten integers a segment in sacreBLEU's order, for the
/// resampling tests that re-add thousands of subsets.
public struct SegmentStatistics: Sendable, Equatable {
    /// Integers per segment: hypothesis length, reference length, 4 matches, 4 totals.
    public static let stride = 2 + 2 * NGramStatistics.maxOrder

    /// `stride` integers per segment.
    public internal(set) var values: [Int]

    /// Statistics for `count` segments, all zero.
    public init(count: Int) {
        values = [Int](repeating: 0, count: count * Self.stride)
    }

    /// The number of segments.
    public var count: Int { values.count / Self.stride }

    /// One segment's statistics.
    public subscript(index: Int) -> NGramStatistics {
        let base = index * Self.stride
        return NGramStatistics(
            hypothesisLength: values[base], referenceLength: values[base + 1],
            correct: Array(values[base + 2..<base + 6]), total: Array(values[base + 6..<base + 10]))
    }

    /// The sum over all segments: the corpus statistics.
    public var sum: NGramStatistics {
        var totals = [Int](repeating: 0, count: Self.stride)
        values.withUnsafeBufferPointer { v in
            var base = 0
            while base < v.count {
                for k in 0..<Self.stride { totals[k] += v[base + k] }
                base += Self.stride
            }
        }
        return NGramStatistics(
            hypothesisLength: totals[0], referenceLength: totals[1], correct: Array(totals[2..<6]),
            total: Array(totals[6..<10]))
    }
}

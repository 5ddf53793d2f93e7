import Seq2Seq
import Testing

/// How two tensors compare element by element, with `isApproximatelyEqual` semantics (swift-numerics):
/// `|a − b| ≤ max(absoluteTolerance, relativeTolerance · max(|a|, |b|))`. Not transitive.
public struct TensorComparison: CustomStringConvertible, Sendable {
    public let shapesMatch: Bool
    public let isClose: Bool
    /// The largest absolute difference, the flat index where it occurs, and both values there.
    public let maximumDifference: Double
    public let worstIndex: Int
    public let actual: Double
    public let expected: Double
    /// Where the tolerance was exceeded the most (the ratio difference/allowed; ≤ 1 when close).
    public let worstRatio: Double

    public var description: String {
        shapesMatch
            ? "max |diff| \(maximumDifference) at \(worstIndex) (actual \(actual), expected \(expected)), worst diff/allowed \(worstRatio)"
            : "shapes differ"
    }
}

/// Compares `actual` against `expected` (shapes first, then every element; NaN never matches).
public func compare(
    _ actual: Tensor, _ expected: Tensor, relativeTolerance: Double = 1e-5, absoluteTolerance: Double = 1e-6
) -> TensorComparison {
    guard actual.shape == expected.shape else {
        return TensorComparison(
            shapesMatch: false, isClose: false, maximumDifference: .infinity, worstIndex: -1, actual: .nan, expected: .nan,
            worstRatio: .infinity)
    }
    var (maximum, worst, ratio, worstRatioIndex) = (0.0, 0, 0.0, 0)
    var close = true
    for i in 0..<actual.count {
        let (a, b) = (Double(actual.scalars[i]), Double(expected.scalars[i]))
        let difference = a == b ? 0 : abs(a - b)  // equal infinities match
        let allowed = max(absoluteTolerance, relativeTolerance * max(abs(a), abs(b)))
        if !(difference <= allowed) { close = false }
        if difference > maximum || difference.isNaN { (maximum, worst) = (difference, i) }
        let r = difference.isNaN ? .infinity : difference / allowed
        if r > ratio { (ratio, worstRatioIndex) = (r, i) }
    }
    _ = worstRatioIndex
    return TensorComparison(
        shapesMatch: true, isClose: close, maximumDifference: maximum, worstIndex: worst,
        actual: actual.count > 0 ? Double(actual.scalars[worst]) : 0, expected: actual.count > 0 ? Double(expected.scalars[worst]) : 0,
        worstRatio: ratio)
}

/// Records a test issue unless `actual` and `expected` have the same shape and close elements.
public func expectClose(
    _ actual: Tensor, _ expected: Tensor, relativeTolerance: Double = 1e-5, absoluteTolerance: Double = 1e-6,
    _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
    let result = compare(actual, expected, relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance)
    #expect(
        result.shapesMatch, "shape \(actual.shape) vs expected \(expected.shape) \(comment.map { "(\($0))" } ?? "")",
        sourceLocation: sourceLocation)
    #expect(result.isClose, "\(result) \(comment.map { "(\($0))" } ?? "")", sourceLocation: sourceLocation)
}

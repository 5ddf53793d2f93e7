/// How BLEU treats n-gram orders with no match (Chen & Cherry 2014, "A Systematic Comparison of
/// Smoothing Techniques for Sentence-Level BLEU"), with sacreBLEU's names and defaults.
public enum Smoothing: Sendable, Equatable {
    /// No smoothing: one order without a match makes BLEU 0.
    case none
    /// Method 1: a zero match count becomes `value` (sacreBLEU default 0.1).
    case floor(Double)
    /// Method 2: add `value` to matches and totals of orders 2 and above (default 1).
    case addK(Double)
    /// Method 3, NIST's (mteval-v13a): the k-th order without a match gets precision 1/(2^k · total).
    case exponential

    /// sacreBLEU's default `floor` smoothing.
    public static let defaultFloor = Smoothing.floor(0.1)
    /// sacreBLEU's default `add-k` smoothing.
    public static let defaultAddK = Smoothing.addK(1)

    /// The method name in signatures and on the command line: `none`, `floor`, `add-k`, `exp`.
    public var name: String {
        switch self {
        case .none: return "none"
        case .floor: return "floor"
        case .addK: return "add-k"
        case .exponential: return "exp"
        }
    }

    /// The smoothing named `name` with `value`, or its default value when `value` is `nil`.
    /// Returns `nil` for an unknown name.
    public init?(name: String, value: Double? = nil) {
        switch name {
        case "none": self = .none
        case "floor": self = .floor(value ?? 0.1)
        case "add-k": self = .addK(value ?? 1)
        case "exp": self = .exponential
        default: return nil
        }
    }

    /// The signature field: `exp`, `none`, `floor[0.10]`, `add-k[1.00]`.
    public var signature: String {
        switch self {
        case .none, .exponential: return name
        case .floor(let value), .addK(let value): return "\(name)[\(PythonFormat.fixed(value, 2))]"
        }
    }
}

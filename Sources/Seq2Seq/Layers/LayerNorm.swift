/// Layer normalisation over the last axis with a learned gain and bias (PyTorch `nn.LayerNorm`).
///
/// Shapes: `x` `[…, D]` → `[…, D]`; `weight` (the gain γ itself) and `bias` `[D]`.
/// Checkpoint keys: `<prefix>.weight`, `<prefix>.bias`.
public struct LayerNorm: Layer {
    public let weight: Parameter
    public let bias: Parameter
    public let epsilon: Float

    /// γ = 1, β = 0.
    public init(dimension: Int, epsilon: Float = 1e-5) {
        weight = Parameter(Tensor(repeating: 1, shape: [dimension]))
        bias = Parameter(Tensor(zeros: [dimension]))
        self.epsilon = epsilon
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        layerNorm(x, weight: Variable(weight, on: x.tape), bias: Variable(bias, on: x.tape), epsilon: epsilon)
    }

    public func parameters(prefix: String) -> [(name: String, parameter: Parameter)] {
        [(qualifiedName(prefix, "weight"), weight), (qualifiedName(prefix, "bias"), bias)]
    }
}

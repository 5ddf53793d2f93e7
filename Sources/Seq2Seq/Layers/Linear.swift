/// A fully connected layer, `y = x·Wᵀ + b`, with PyTorch's layout and names.
///
/// Shapes: `x` `[…, in]` → `[…, out]`; `weight` `[out, in]`, `bias` `[out]`.
/// Checkpoint keys: `<prefix>.weight`, `<prefix>.bias`.
public struct Linear: Layer {
    public let weight: Parameter
    public let bias: Parameter?

    /// PyTorch's default initialisation: weight and bias uniform in `±1/√in`.
    public init(inputDimension: Int, outputDimension: Int, bias: Bool = true, generator: inout SplitMix64) {
        let bound = 1 / Float(inputDimension).squareRoot()
        weight = Parameter(.uniform([outputDimension, inputDimension], low: -bound, high: bound, generator: &generator))
        self.bias = bias ? Parameter(.uniform([outputDimension], low: -bound, high: bound, generator: &generator)) : nil
    }

    /// A layer with the given weight `[out, in]` and bias `[out]`.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2 && (bias == nil || bias!.shape == [weight.shape[0]]), "Linear: weight \(weight.shape), bias \(bias?.shape ?? [])")
        self.weight = Parameter(weight)
        self.bias = bias.map(Parameter.init)
    }

    public var inputDimension: Int { weight.shape[1] }
    public var outputDimension: Int { weight.shape[0] }

    public func callAsFunction(_ x: Variable) -> Variable {
        linear(x, weight: Variable(weight, on: x.tape), bias: bias.map { Variable($0, on: x.tape) })
    }

    public func parameters(prefix: String) -> [(name: String, parameter: Parameter)] {
        [(qualifiedName(prefix, "weight"), weight)] + (bias.map { [(qualifiedName(prefix, "bias"), $0)] } ?? [])
    }
}

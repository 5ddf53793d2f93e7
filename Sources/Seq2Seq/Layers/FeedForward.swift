/// The position-wise feed-forward block: `y = contract(dropout(relu(expand(x))))`.
///
/// Shapes: `x` `[…, D]` → `[…, D]`, inner width `F`. Checkpoint keys follow fairseq: `expand` is
/// `<prefix>.fc1` (`[F, D]`), `contract` is `<prefix>.fc2` (`[D, F]`). The dropout after ReLU is
/// fairseq's `activation_dropout`.
public struct FeedForward: Layer {
    public let expand: Linear
    public let contract: Linear
    public let activationDropout: Float

    public init(dimension: Int, hiddenDimension: Int, activationDropout: Float = 0, generator: inout SplitMix64) {
        expand = Linear(inputDimension: dimension, outputDimension: hiddenDimension, generator: &generator)
        contract = Linear(inputDimension: hiddenDimension, outputDimension: dimension, generator: &generator)
        self.activationDropout = activationDropout
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        let hidden = dropout(relu(expand(x)), probability: activationDropout)  // [..., F]
        return contract(hidden)  // [..., D]
    }

    public func parameters(prefix: String) -> [(name: String, parameter: Parameter)] {
        expand.parameters(prefix: qualifiedName(prefix, "fc1")) + contract.parameters(prefix: qualifiedName(prefix, "fc2"))
    }
}

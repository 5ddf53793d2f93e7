/// Softmax multi-head attention as fairseq's `MultiheadAttention` computes it.
///
/// ```
/// q = (x_q·W_qᵀ + b_q)/√k,  k = x_kv·W_kᵀ + b_k,  v = x_kv·W_vᵀ + b_v      (split into H heads of k = D/H)
/// y = concat_h(softmax(q_h·k_hᵀ, mask)·v_h)·W_oᵀ + b_o
/// ```
/// Shapes: `query` `[B, T, D]`, `keyValue` `[B, S, D]`, `keyPaddingMask` `[B, S]` (1 at pads), result
/// `[B, T, D]`. Checkpoint keys: `<prefix>.{q,k,v,out}_proj.{weight,bias}`.
public struct MultiHeadAttention: Layer {
    public let query: Linear
    public let key: Linear
    public let value: Linear
    public let output: Linear
    public let headCount: Int
    public let attentionDropout: Float

    /// Projections with PyTorch's default initialisation.
    /// - Precondition: `dimension` is divisible by `headCount`.
    public init(dimension: Int, headCount: Int, attentionDropout: Float = 0, generator: inout SplitMix64) {
        precondition(headCount > 0 && dimension % headCount == 0, "MultiHeadAttention: \(dimension) not divisible by \(headCount) heads")
        query = Linear(inputDimension: dimension, outputDimension: dimension, generator: &generator)
        key = Linear(inputDimension: dimension, outputDimension: dimension, generator: &generator)
        value = Linear(inputDimension: dimension, outputDimension: dimension, generator: &generator)
        output = Linear(inputDimension: dimension, outputDimension: dimension, generator: &generator)
        self.headCount = headCount
        self.attentionDropout = attentionDropout
    }

    /// The query scale `1/√(D/H)`.
    public var scale: Float { 1 / Float(query.outputDimension / headCount).squareRoot() }

    /// Attention of `query` over `keyValue` (self-attention when they are the same variable).
    /// - Parameters:
    ///   - keyPaddingMask: `[B, S]`, 1 at padded keys.
    ///   - causal: mask keys after each query position (needs T == S).
    public func callAsFunction(
        query x: Variable, keyValue context: Variable, keyPaddingMask: Tensor? = nil, causal: Bool = false
    ) -> Variable {
        precondition(x.shape.count == 3 && context.shape.count == 3, "MultiHeadAttention: query \(x.shape), keyValue \(context.shape)")
        let mask = attentionMask(keyPadding: keyPaddingMask, causal: causal, queries: x.shape[1], keys: context.shape[1])
        // Heads stay in place in [B, N, D]; the 1/√k scale rides on the score product.
        let attended = multiHeadAttention(
            query: query(x), key: key(context), value: value(context), heads: headCount, scale: scale, mask: mask,
            dropout: attentionDropout)  // [B, T, D]
        return output(attended)  // [B, T, D]
    }

    public func parameters(prefix: String) -> [(name: String, parameter: Parameter)] {
        query.parameters(prefix: qualifiedName(prefix, "q_proj")) + key.parameters(prefix: qualifiedName(prefix, "k_proj"))
            + value.parameters(prefix: qualifiedName(prefix, "v_proj")) + output.parameters(prefix: qualifiedName(prefix, "out_proj"))
    }
}

/// The mask for scores `[B, H, T, S]`: key padding (`[B, S]`, 1 at pads) and/or causal, combined;
/// nil when neither applies. Shapes: `[B, 1, 1, S]`, `[T, S]`, or `[B, 1, T, S]` for both.
public func attentionMask(keyPadding: Tensor?, causal: Bool, queries: Int, keys: Int) -> Tensor? {
    let padding = keyPadding.map(keyPaddingMask)
    guard causal else { return padding }
    precondition(queries == keys, "attentionMask: causal needs as many queries (\(queries)) as keys (\(keys))")
    let future = Tensor.causalMask(queries)
    guard let padding else { return future }
    return (Variable(padding) + Variable(future)).value  // [B, 1, 1, S] + [T, S] -> [B, 1, T, S]; nonzero = masked
}

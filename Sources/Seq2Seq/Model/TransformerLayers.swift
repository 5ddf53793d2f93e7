// Reference: fairseq `fairseq/modules/transformer_layer.py` (`TransformerEncoderLayer`,
// `TransformerDecoderLayer`) and `multihead_attention.py`: the softmax baseline sharing embeddings, FFN
// and norms with Luna.

extension MultiHeadAttention {
    /// fairseq's initialisation: xavier-uniform with gain 1/√2 for q, k, v, gain 1 and a zero bias for
    /// `out_proj`, PyTorch's default for the other biases.
    static func fairseq(
        dimension d: Int, heads: Int, attentionDropout: Float, generator: inout SplitMix64
    ) -> MultiHeadAttention {
        let layer = MultiHeadAttention(
            dimension: d, headCount: heads, attentionDropout: attentionDropout, generator: &generator)
        for projection in [layer.query, layer.key, layer.value] {
            let fresh = Linear.xavier(inputs: d, outputs: d, gain: Float(0.5).squareRoot(), generator: &generator)
            projection.weight.value = fresh.weight.value
            projection.bias!.value = fresh.bias!.value
        }
        let fresh = Linear.xavier(inputs: d, outputs: d, gain: 1, zeroBias: true, generator: &generator)
        layer.output.weight.value = fresh.weight.value
        layer.output.bias!.value = fresh.bias!.value
        return layer
    }

    /// Keys and values of a context, `[B, N, d]` each (cached once per source for cross-attention).
    func keysValues(_ context: Variable) -> (keys: Variable, values: Variable) {
        (key(context), value(context))
    }

    /// Attention of `x` `[B, M, d]` over precomputed keys and values `[B, N, d]`; `mask` broadcasts to the
    /// scores `[B, H, M, N]` (1 = masked). Returns `[B, M, d]`.
    func attend(_ x: Variable, keys: Variable, values: Variable, mask: Tensor?) -> Variable {
        let attended = multiHeadAttention(
            query: query(x), key: keys, value: values, heads: headCount, scale: scale, mask: mask,
            dropout: attentionDropout)  // [B, M, d], heads in place; the scale rides on the scores
        return output(attended)
    }
}

/// One Transformer encoder layer (post-norm: `X' = LN(X + Drop(Attn(X)))`, then the FFN likewise;
/// pre-norm: `X' = X + Drop(Attn(LN(X)))`, then the FFN likewise).
///
/// Shapes: `x` `[B, N, d]`, `sourceMask` `[B, 1, 1, N]` (1 at pads).
public struct TransformerEncoderLayer: Layer {
    public var self_attn: MultiHeadAttention
    public var self_attn_layer_norm: LayerNorm
    /// `fc1`, `fc2`.
    public var feedForward: FeedForward
    public var final_layer_norm: LayerNorm
    public let normalizeBefore: Bool
    public let dropoutProbability: Float

    public init(_ configuration: ModelConfiguration, generator: inout SplitMix64) {
        let c = configuration
        self_attn = .fairseq(
            dimension: c.modelDimension, heads: c.attentionHeads, attentionDropout: c.attentionDropout,
            generator: &generator)
        self_attn_layer_norm = LayerNorm(dimension: c.modelDimension, epsilon: c.layerNormEpsilon)
        feedForward = FeedForward(
            dimension: c.modelDimension, hiddenDimension: c.ffnDimension, activationDropout: c.activationDropout,
            generator: &generator)
        final_layer_norm = LayerNorm(dimension: c.modelDimension, epsilon: c.layerNormEpsilon)
        normalizeBefore = c.normalizeBefore
        dropoutProbability = c.dropout
    }

    public func parameters(prefix: String) -> [(name: String, parameter: Parameter)] {
        self_attn.parameters(prefix: qualifiedName(prefix, "self_attn"))
            + self_attn_layer_norm.parameters(prefix: qualifiedName(prefix, "self_attn_layer_norm"))
            + feedForward.parameters(prefix: prefix)
            + final_layer_norm.parameters(prefix: qualifiedName(prefix, "final_layer_norm"))
    }

    public func callAsFunction(_ x: Variable, sourceMask: Tensor?) -> Variable {
        let drop = { (v: Variable) in dropout(v, probability: dropoutProbability) }
        var x = x
        if normalizeBefore {
            let xIn = self_attn_layer_norm(x)
            let (keys, values) = self_attn.keysValues(xIn)
            x = x + drop(self_attn.attend(xIn, keys: keys, values: values, mask: sourceMask))
            x = x + drop(feedForward(final_layer_norm(x)))
        } else {
            let (keys, values) = self_attn.keysValues(x)
            x = self_attn_layer_norm(x + drop(self_attn.attend(x, keys: keys, values: values, mask: sourceMask)))
            x = final_layer_norm(x + drop(feedForward(x)))
        }
        return x
    }
}

/// One Transformer decoder layer: causal softmax self-attention, softmax cross-attention over the encoder
/// states, FFN; post- or pre-norm as the encoder layer.
///
/// Shapes: `y` `[B, T, d]`; cross keys/values `[B, N, d]`; `sourceMask` `[B, 1, 1, N]`.
public struct TransformerDecoderLayer: Layer {
    public var self_attn: MultiHeadAttention
    public var self_attn_layer_norm: LayerNorm
    public var encoder_attn: MultiHeadAttention
    public var encoder_attn_layer_norm: LayerNorm
    /// `fc1`, `fc2`.
    public var feedForward: FeedForward
    public var final_layer_norm: LayerNorm
    public let normalizeBefore: Bool
    public let dropoutProbability: Float

    public init(_ configuration: ModelConfiguration, generator: inout SplitMix64) {
        let c = configuration
        let d = c.modelDimension
        self_attn = .fairseq(dimension: d, heads: c.attentionHeads, attentionDropout: c.attentionDropout, generator: &generator)
        self_attn_layer_norm = LayerNorm(dimension: d, epsilon: c.layerNormEpsilon)
        encoder_attn = .fairseq(
            dimension: d, heads: c.attentionHeads, attentionDropout: c.attentionDropout, generator: &generator)
        encoder_attn_layer_norm = LayerNorm(dimension: d, epsilon: c.layerNormEpsilon)
        feedForward = FeedForward(
            dimension: d, hiddenDimension: c.ffnDimension, activationDropout: c.activationDropout, generator: &generator)
        final_layer_norm = LayerNorm(dimension: d, epsilon: c.layerNormEpsilon)
        normalizeBefore = c.normalizeBefore
        dropoutProbability = c.dropout
    }

    public func parameters(prefix: String) -> [(name: String, parameter: Parameter)] {
        self_attn.parameters(prefix: qualifiedName(prefix, "self_attn"))
            + self_attn_layer_norm.parameters(prefix: qualifiedName(prefix, "self_attn_layer_norm"))
            + encoder_attn.parameters(prefix: qualifiedName(prefix, "encoder_attn"))
            + encoder_attn_layer_norm.parameters(prefix: qualifiedName(prefix, "encoder_attn_layer_norm"))
            + feedForward.parameters(prefix: prefix)
            + final_layer_norm.parameters(prefix: qualifiedName(prefix, "final_layer_norm"))
    }

    /// The cross-attention keys and values of the encoder states (once per source).
    public func crossKeysValues(_ encoderStates: Variable) -> (keys: Variable, values: Variable) {
        encoder_attn.keysValues(encoderStates)
    }

    /// The whole target at once: causal self-attention over `y` itself.
    public func callAsFunction(_ y: Variable, crossKeys: Variable, crossValues: Variable, sourceMask: Tensor?) -> Variable {
        body(y, crossKeys: crossKeys, crossValues: crossValues, sourceMask: sourceMask) { yIn in
            let (keys, values) = self_attn.keysValues(yIn)
            return self_attn.attend(yIn, keys: keys, values: values, mask: Tensor.causalMask(yIn.shape[1]))
        }
    }

    /// One step, `y` `[B, 1, d]`: its keys and values join the cache, and it attends over the whole cache.
    public func step(
        _ y: Variable, crossKeys: Variable, crossValues: Variable, sourceMask: Tensor?, cache: inout KeyValueCache
    ) -> Variable {
        body(y, crossKeys: crossKeys, crossValues: crossValues, sourceMask: sourceMask) { yIn in
            let (newKeys, newValues) = self_attn.keysValues(yIn)  // [B, 1, d]
            let (keys, values) = cache.append(keys: newKeys.value, values: newValues.value)  // [B, t, d]
            return self_attn.attend(yIn, keys: Variable(keys), values: Variable(values), mask: nil)
        }
    }

    private func body(
        _ y: Variable, crossKeys: Variable, crossValues: Variable, sourceMask: Tensor?,
        selfAttention: (Variable) -> Variable
    ) -> Variable {
        let drop = { (v: Variable) in dropout(v, probability: dropoutProbability) }
        var y = y
        if normalizeBefore {
            y = y + drop(selfAttention(self_attn_layer_norm(y)))
            y = y + drop(encoder_attn.attend(encoder_attn_layer_norm(y), keys: crossKeys, values: crossValues, mask: sourceMask))
            y = y + drop(feedForward(final_layer_norm(y)))
        } else {
            y = self_attn_layer_norm(y + drop(selfAttention(y)))
            y = encoder_attn_layer_norm(y + drop(encoder_attn.attend(y, keys: crossKeys, values: crossValues, mask: sourceMask)))
            y = final_layer_norm(y + drop(feedForward(y)))
        }
        return y
    }
}

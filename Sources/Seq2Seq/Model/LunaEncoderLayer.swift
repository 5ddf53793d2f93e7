// Reference: XuezheMax/fairseq-apollo `fairseq/modules/luna_layer.py` (`LunaEncoderLayer`), luna.md §1.2.

/// One Luna encoder layer (Ma et al., 2021, "Luna: Linear Unified Nested Attention").
///
/// Post-norm (the WMT recipe):
/// ```
/// (Yx, Yp) = LunaAttention(X, P)
/// X_A = LN_attn(X + Drop(Yx));   P' = LN_P(P + Drop(Yp))     P has its own LayerNorm and no FFN
/// X'  = LN_ffn(X_A + Drop(FFN(X_A)))
/// ```
/// Pre-norm: the attention reads LN_attn(X) and LN_P(P); the residuals are added unnormalised.
///
/// Shapes: `x` `[B, N, d]` (tokens), `p` `[B, L, d]` (projected memory); masks are 1 at pads:
/// `sourceMask` `[B, 1, 1, N]`, `packedMask` `[B, 1, 1, L]` (nil without dynamic projection).
public struct LunaEncoderLayer: Layer {
    public var self_attn: LunaAttention
    public var self_attn_layer_norm: LayerNorm
    /// P's LayerNorm (the official spelling "atten").
    public var self_atten_proj_layer_norm: LayerNorm
    /// `fc1`, `fc2`.
    public var feedForward: FeedForward
    public var final_layer_norm: LayerNorm
    public let normalizeBefore: Bool
    /// On the residual branches (Yx, Yp, FFN output).
    public let dropoutProbability: Float

    public init(_ configuration: ModelConfiguration, generator: inout SplitMix64) {
        let c = configuration
        self_attn = LunaAttention(
            dimension: c.modelDimension, heads: c.attentionHeads, packHeads: c.packHeads, tiedKeyValue: c.tieKeyValue,
            attentionDropout: c.attentionDropout, generator: &generator)
        self_attn_layer_norm = LayerNorm(dimension: c.modelDimension, epsilon: c.layerNormEpsilon)
        self_atten_proj_layer_norm = LayerNorm(dimension: c.modelDimension, epsilon: c.layerNormEpsilon)
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
            + self_atten_proj_layer_norm.parameters(prefix: qualifiedName(prefix, "self_atten_proj_layer_norm"))
            + feedForward.parameters(prefix: prefix)
            + final_layer_norm.parameters(prefix: qualifiedName(prefix, "final_layer_norm"))
    }

    public func callAsFunction(
        _ x: Variable, p: Variable, sourceMask: Tensor?, packedMask: Tensor?
    ) -> (x: Variable, p: Variable) {
        let drop = { (v: Variable) in dropout(v, probability: dropoutProbability) }
        let (xIn, pIn) = normalizeBefore ? (self_attn_layer_norm(x), self_atten_proj_layer_norm(p)) : (x, p)
        let (unpacked, packed) = self_attn(
            xIn, p: pIn, context: xIn, contextMask: sourceMask, packedMask: packedMask)  // [B, N, d], [B, L, d]
        var x = x + drop(unpacked)
        var p = p + drop(packed)
        if !normalizeBefore { (x, p) = (self_attn_layer_norm(x), self_atten_proj_layer_norm(p)) }
        x = x + drop(feedForward(normalizeBefore ? final_layer_norm(x) : x))  // FFN on the tokens only
        if !normalizeBefore { x = final_layer_norm(x) }
        return (x, p)
    }
}

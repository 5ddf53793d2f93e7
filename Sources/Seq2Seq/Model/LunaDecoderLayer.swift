// Reference: XuezheMax/fairseq-apollo `fairseq/modules/luna_layer.py` (`LunaDecoderLayer`), luna.md §2.1.

/// What a Luna decoder layer derives from the source alone: computed once per source sentence (at the
/// first decoding step, or once per training batch), identical for every target prefix.
public struct LunaDecoderSourceContext {
    /// Π of the causal self-attention, from the raw P_i: `[B, H, L, d/H]`.
    public var packQuery: Variable
    /// Cross-attention keys and values: `[B, L, d]` (Luna: the unpack K/V of the packed encoder output)
    /// or `[B, N, d]` (softmax: projections of the encoder states).
    public var crossKeys: Variable
    public var crossValues: Variable
    /// P_{i+1}: the next layer's P (P_i itself with softmax cross-attention).
    public var nextP: Variable

    /// Keeps `rows` of every tensor (beam reordering, or copying a source for its hypotheses).
    func gatheringRows(_ rows: [Int]) -> LunaDecoderSourceContext {
        LunaDecoderSourceContext(
            packQuery: Variable(packQuery.value.gatheringRows(rows)),
            crossKeys: Variable(crossKeys.value.gatheringRows(rows)),
            crossValues: Variable(crossValues.value.gatheringRows(rows)),
            nextP: Variable(nextP.value.gatheringRows(rows)))
    }
}

/// One Luna decoder layer: causal Luna self-attention, then Luna cross-attention through the decoder's own
/// P (or softmax cross-attention), then the FFN.
///
/// Post-norm (the WMT recipe):
/// ```
/// Y1      = LN_self(Y + Drop(CausalLuna(Y, P_i)))                 P is not updated here
/// (Yx,Yp) = LunaAttention(query: Y1, P: P_i, context: X_enc)
/// Y2      = LN_cross(Y1 + Drop(Yx));    P_{i+1} = LN_P(P_i + Drop(Yp))
/// Y'      = LN_ffn(Y2 + Drop(FFN(Y2)))
/// ```
/// Pre-norm: CausalLuna(LN_self(Y), P_i) with the raw P_i; LunaAttention(LN_cross(Y1), LN_P(P_i), X_enc);
/// P_{i+1} = P_i + Drop(Yp). P_i depends only on the source, so ``sourceContext(p:encoder:)`` computes
/// everything P-derived once.
///
/// Shapes: `y` `[B, T, d]`, P `[B, L, d]`, encoder states `[B, N, d]`.
public struct LunaDecoderLayer: Layer {
    public var self_attn: CausalLunaAttention
    public var self_attn_layer_norm: LayerNorm
    /// `cross_attention` = luna.
    public var encoder_attn: LunaAttention?
    /// The decoder P's LayerNorm (`cross_attention` = luna; official spelling "atten").
    public var encoder_atten_proj_layer_norm: LayerNorm?
    /// `cross_attention` = softmax.
    public var encoder_attn_softmax: MultiHeadAttention?
    public var encoder_attn_layer_norm: LayerNorm
    /// `fc1`, `fc2`.
    public var feedForward: FeedForward
    public var final_layer_norm: LayerNorm
    public let normalizeBefore: Bool
    public let dropoutProbability: Float

    public init(_ configuration: ModelConfiguration, generator: inout SplitMix64) {
        let c = configuration
        let d = c.modelDimension
        self_attn = CausalLunaAttention(
            dimension: d, heads: c.attentionHeads, tiedKeyValue: c.tieKeyValue, activation: c.causalActivation,
            attentionDropout: c.attentionDropout, generator: &generator)
        self_attn_layer_norm = LayerNorm(dimension: d, epsilon: c.layerNormEpsilon)
        switch c.crossAttention {
        case .luna:
            encoder_attn = LunaAttention(
                dimension: d, heads: c.attentionHeads, packHeads: c.packHeads, tiedKeyValue: c.tieKeyValue,
                attentionDropout: c.attentionDropout, generator: &generator)
            encoder_atten_proj_layer_norm = LayerNorm(dimension: d, epsilon: c.layerNormEpsilon)
        case .softmax:
            encoder_attn_softmax = MultiHeadAttention.fairseq(
                dimension: d, heads: c.attentionHeads, attentionDropout: c.attentionDropout, generator: &generator)
        }
        encoder_attn_layer_norm = LayerNorm(dimension: d, epsilon: c.layerNormEpsilon)
        feedForward = FeedForward(
            dimension: d, hiddenDimension: c.ffnDimension, activationDropout: c.activationDropout, generator: &generator)
        final_layer_norm = LayerNorm(dimension: d, epsilon: c.layerNormEpsilon)
        normalizeBefore = c.normalizeBefore
        dropoutProbability = c.dropout
    }

    public func parameters(prefix: String) -> [(name: String, parameter: Parameter)] {
        var list = self_attn.parameters(prefix: qualifiedName(prefix, "self_attn"))
        list += self_attn_layer_norm.parameters(prefix: qualifiedName(prefix, "self_attn_layer_norm"))
        list += encoder_attn?.parameters(prefix: qualifiedName(prefix, "encoder_attn")) ?? []
        list += encoder_attn_softmax?.parameters(prefix: qualifiedName(prefix, "encoder_attn")) ?? []
        list +=
            encoder_atten_proj_layer_norm?.parameters(prefix: qualifiedName(prefix, "encoder_atten_proj_layer_norm")) ?? []
        list += encoder_attn_layer_norm.parameters(prefix: qualifiedName(prefix, "encoder_attn_layer_norm"))
        list += feedForward.parameters(prefix: prefix)
        list += final_layer_norm.parameters(prefix: qualifiedName(prefix, "final_layer_norm"))
        return list
    }

    /// Everything this layer derives from P_i and the encoder output.
    /// - Parameters:
    ///   - p: P_i, `[B, L, d]`.
    ///   - encoder: the encoder output (its states `[B, N, d]` and source mask).
    public func sourceContext(p: Variable, encoder: EncoderOutput) -> LunaDecoderSourceContext {
        let packQuery = self_attn.packQuery(p)  // the causal pack query reads the raw P_i, also in pre-norm
        if let encoder_attn, let encoder_atten_proj_layer_norm {
            let pIn = normalizeBefore ? encoder_atten_proj_layer_norm(p) : p
            let packed = encoder_attn.pack(pIn, context: encoder.states, contextMask: encoder.sourceMask)  // [B, L, d]
            var nextP = p + dropout(packed, probability: dropoutProbability)
            if !normalizeBefore { nextP = encoder_atten_proj_layer_norm(nextP) }
            let (keys, values) = encoder_attn.unpackKeysValues(packed)  // [B, L, d]
            return LunaDecoderSourceContext(packQuery: packQuery, crossKeys: keys, crossValues: values, nextP: nextP)
        }
        let (keys, values) = encoder_attn_softmax!.keysValues(encoder.states)  // [B, N, d]
        return LunaDecoderSourceContext(packQuery: packQuery, crossKeys: keys, crossValues: values, nextP: p)
    }

    /// The whole target at once (training, scoring).
    /// - Parameters:
    ///   - y: `[B, T, d]`.
    ///   - packedMask: 1 at masked P slots, `[B, 1, 1, L]`, or nil.
    /// - Returns: `[B, T, d]`.
    public func callAsFunction(
        _ y: Variable, context: LunaDecoderSourceContext, encoder: EncoderOutput
    ) -> Variable {
        body(y, context: context, encoder: encoder) { yIn in
            self_attn(yIn, packQuery: context.packQuery, packedMask: encoder.packedMask)
        }
    }

    /// One decoding step, `y` `[B, 1, d]`, advancing the layer's causal state.
    public func step(
        _ y: Variable, context: LunaDecoderSourceContext, encoder: EncoderOutput, state: inout CausalLunaState
    ) -> Variable {
        body(y, context: context, encoder: encoder) { yIn in
            self_attn.step(yIn, packQuery: context.packQuery, packedMask: encoder.packedMask, state: &state)
        }
    }

    /// The layer with the causal self-attention passed in (parallel or one step).
    private func body(
        _ y: Variable, context: LunaDecoderSourceContext, encoder: EncoderOutput,
        selfAttention: (Variable) -> Variable
    ) -> Variable {
        let drop = { (v: Variable) in dropout(v, probability: dropoutProbability) }
        var y = y
        if normalizeBefore {
            y = y + drop(selfAttention(self_attn_layer_norm(y)))
        } else {
            y = self_attn_layer_norm(y + drop(selfAttention(y)))
        }
        let yIn = normalizeBefore ? encoder_attn_layer_norm(y) : y
        let attended: Variable
        if let encoder_attn {
            attended = encoder_attn.unpack(
                yIn, keys: context.crossKeys, values: context.crossValues, packedMask: encoder.packedMask)
        } else {
            attended = encoder_attn_softmax!.attend(
                yIn, keys: context.crossKeys, values: context.crossValues, mask: encoder.sourceMask)
        }
        y = normalizeBefore ? y + drop(attended) : encoder_attn_layer_norm(y + drop(attended))
        if normalizeBefore {
            y = y + drop(feedForward(final_layer_norm(y)))
        } else {
            y = final_layer_norm(y + drop(feedForward(y)))
        }
        return y
    }
}

// Reference: XuezheMax/fairseq-apollo `fairseq/modules/luna_attention.py` (`LunarMultiheadAttention`),
// described in ../shared/design/luna.md §1.1.

/// Bidirectional Luna attention: pack (P queries the context), then unpack (the tokens query the packed
/// context). Used by the encoder's self-attention and by the decoder's Luna cross-attention.
///
/// Concretely, with pack heads H_p (s_p = (d/H_p)^−½) and unpack heads H (s = (d/H)^−½), per head:
/// ```
/// Yp = concat_h softmax_N( s_p·(P·Wpq + b) · (C·Wpk + b)ᵀ  masked at context pads ) · (C·Wpv + b)
/// Yx = concat_h softmax_L( s·(X·Wq + b)  · (Yp·Wk + b)ᵀ    masked at P pads )       · (Yp·Wv + b)  · Wo + b
/// ```
/// Tied (`tie_kv`): `pc_proj` serves as Wpk = Wpv and `c_proj` as Wk = Wv. There is no output projection
/// on the pack: Yp goes straight into P's residual and into the unpack key/value projection.
///
/// Shapes: B batch, N context length, M query length, L P length, d model width.
public struct LunaAttention: Layer {
    /// The pack query projection (applied to P).
    public var pq_proj: Linear
    /// Tied: the pack key = value projection (applied to the context).
    public var pc_proj: Linear?
    /// Untied: the pack key and value projections.
    public var pk_proj: Linear?
    public var pv_proj: Linear?
    /// The unpack query projection (applied to the tokens).
    public var q_proj: Linear
    /// Tied: the unpack key = value projection (applied to the packed context).
    public var c_proj: Linear?
    /// Untied: the unpack key and value projections.
    public var k_proj: Linear?
    public var v_proj: Linear?
    /// The output projection of the unpack.
    public var out_proj: Linear
    /// H: unpack heads.
    public let heads: Int
    /// H_p: pack heads.
    public let packHeads: Int
    /// Dropout on both attention probability tensors.
    public let attentionDropout: Float

    /// A randomly initialised attention, as the official code initialises it: xavier-uniform with gain
    /// 1/√2 for every input projection, gain 1 and a zero bias for `out_proj`, PyTorch's default bias
    /// init elsewhere.
    public init(
        dimension d: Int, heads: Int, packHeads: Int, tiedKeyValue: Bool, attentionDropout: Float,
        generator: inout SplitMix64
    ) {
        precondition(d % heads == 0 && d % packHeads == 0, "LunaAttention: heads \(heads)/\(packHeads) for d \(d)")
        func projection(_ generator: inout SplitMix64) -> Linear {
            .xavier(inputs: d, outputs: d, gain: Float(0.5).squareRoot(), generator: &generator)
        }
        pq_proj = projection(&generator)
        q_proj = projection(&generator)
        if tiedKeyValue {
            pc_proj = projection(&generator)
            c_proj = projection(&generator)
        } else {
            pk_proj = projection(&generator)
            pv_proj = projection(&generator)
            k_proj = projection(&generator)
            v_proj = projection(&generator)
        }
        out_proj = .xavier(inputs: d, outputs: d, gain: 1, zeroBias: true, generator: &generator)
        self.heads = heads
        self.packHeads = packHeads
        self.attentionDropout = attentionDropout
    }

    /// Whether one projection serves as both key and value.
    public var isTied: Bool { pc_proj != nil }

    public func parameters(prefix: String) -> [(name: String, parameter: Parameter)] {
        let projections: [(String, Linear?)] = [
            ("pq_proj", pq_proj), ("pc_proj", pc_proj), ("pk_proj", pk_proj), ("pv_proj", pv_proj),
            ("q_proj", q_proj), ("c_proj", c_proj), ("k_proj", k_proj), ("v_proj", v_proj), ("out_proj", out_proj),
        ]
        return projections.flatMap { name, layer in layer?.parameters(prefix: qualifiedName(prefix, name)) ?? [] }
    }

    /// Pack: P queries the context.
    /// - Parameters:
    ///   - p: `[B, L, d]`.
    ///   - context: `[B, N, d]`.
    ///   - contextMask: 1 at context pads, `[B, 1, 1, N]`, or nil.
    /// - Returns: the packed context Yp, `[B, L, d]` (no output projection).
    public func pack(_ p: Variable, context: Variable, contextMask: Tensor?) -> Variable {
        let d = context.shape[2]
        let query = pq_proj(p)  // [B, L, d]; the scale multiplies the biased projection (on the scores)
        let keys = pc_proj.map { $0(context) } ?? pk_proj!(context)  // [B, N, d]
        let values = pc_proj == nil ? pv_proj!(context) : keys
        // Heads stay in place in [B, ·, d]: per head, softmax over the N context positions.
        return multiHeadAttention(
            query: query, key: keys, value: values, heads: packHeads, scale: 1 / Float(d / packHeads).squareRoot(),
            mask: contextMask, dropout: attentionDropout)  // [B, L, d]
    }

    /// The unpack keys and values from a packed context, `[B, L, d]` each (the same variable when tied).
    public func unpackKeysValues(_ packed: Variable) -> (keys: Variable, values: Variable) {
        if let c_proj {
            let kv = c_proj(packed)
            return (kv, kv)
        }
        return (k_proj!(packed), v_proj!(packed))
    }

    /// Unpack: the tokens query the packed context.
    /// - Parameters:
    ///   - x: `[B, M, d]`.
    ///   - keys, values: `[B, L, d]` from ``unpackKeysValues(_:)``.
    ///   - packedMask: 1 at masked P slots, `[B, 1, 1, L]`, or nil (no dynamic projection).
    /// - Returns: `[B, M, d]`, after `out_proj`.
    public func unpack(_ x: Variable, keys: Variable, values: Variable, packedMask: Tensor?) -> Variable {
        let d = x.shape[2]
        let attended = multiHeadAttention(
            query: q_proj(x), key: keys, value: values, heads: heads, scale: 1 / Float(d / heads).squareRoot(),
            mask: packedMask, dropout: attentionDropout)  // per head, softmax over the L slots: [B, M, d]
        return out_proj(attended)
    }

    /// Pack then unpack.
    /// - Returns: `x`: `[B, M, d]` (Yx), `p`: `[B, L, d]` (Yp, the packed context).
    public func callAsFunction(
        _ x: Variable, p: Variable, context: Variable, contextMask: Tensor?, packedMask: Tensor?
    ) -> (x: Variable, p: Variable) {
        let packed = pack(p, context: context, contextMask: contextMask)
        let (keys, values) = unpackKeysValues(packed)
        return (unpack(x, keys: keys, values: values, packedMask: packedMask), packed)
    }
}

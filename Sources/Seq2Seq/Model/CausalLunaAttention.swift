import Foundation

// Reference: XuezheMax/fairseq-apollo `fairseq/modules/luna_attention.py` (`LunarCausalAttention`),
// described in ../shared/design/luna.md §2.2–2.4.

/// Causal Luna self-attention of the decoder: the target tokens pack themselves into P's L slots with
/// positive weights α, averaged over the prefix (1/t), and unpack from those running sums.
///
/// Concretely, per head h (k = d/H, s = k^−½), for target position t = 1 … T:
/// ```
/// Π   = s·head_h(P·Wpq + b)                       [L, k]   (from P only; computed once per source)
/// α_t = w(head_h(y_t·Wpc + b) · Πᵀ)                [L]      w = softplus_{β=ln2} or elu + 1
/// q_t = s·head_h(y_t·Wq + b),  k_t, v_t = head_h(y_t·Wc + b) (tied) or Wk, Wv (untied)
/// e_t = (1/t) Σ_{s≤t} (q_t·k_s) α_s               [L]      masked at P pads, π_t = softmax(e_t)
/// o_t = (1/t) Σ_{s≤t} (π_t·α_s) v_s               [k]
/// out_t = concat_h(o_t)·Wo + b
/// ```
/// The normalisation is by the token count t, not by Σα. Target padding is ignored, which is exact for
/// right-padded targets (trailing pads never reach earlier positions).
///
/// Shapes: B batch (or hypotheses), T target length, L P length, d model width, H heads.
public struct CausalLunaAttention: Layer {
    public var pq_proj: Linear
    /// The projection whose output c_s is dotted with Π to give α_s.
    public var pc_proj: Linear
    public var q_proj: Linear
    /// Tied: one projection for keys and values.
    public var c_proj: Linear?
    /// Untied: separate key and value projections.
    public var k_proj: Linear?
    public var v_proj: Linear?
    public var out_proj: Linear
    /// H.
    public let heads: Int
    public let activation: ModelConfiguration.CausalActivation
    /// Dropout on α (before accumulation) and on π.
    public let attentionDropout: Float

    /// Official initialisation: xavier-uniform gain 1/√2 for the input projections, gain 1 and a zero
    /// bias for `out_proj`.
    public init(
        dimension d: Int, heads: Int, tiedKeyValue: Bool, activation: ModelConfiguration.CausalActivation,
        attentionDropout: Float, generator: inout SplitMix64
    ) {
        precondition(d % heads == 0, "CausalLunaAttention: \(heads) heads for d \(d)")
        func projection(_ generator: inout SplitMix64) -> Linear {
            .xavier(inputs: d, outputs: d, gain: Float(0.5).squareRoot(), generator: &generator)
        }
        pq_proj = projection(&generator)
        pc_proj = projection(&generator)
        q_proj = projection(&generator)
        if tiedKeyValue {
            c_proj = projection(&generator)
        } else {
            k_proj = projection(&generator)
            v_proj = projection(&generator)
        }
        out_proj = .xavier(inputs: d, outputs: d, gain: 1, zeroBias: true, generator: &generator)
        self.heads = heads
        self.activation = activation
        self.attentionDropout = attentionDropout
    }

    public func parameters(prefix: String) -> [(name: String, parameter: Parameter)] {
        let projections: [(String, Linear?)] = [
            ("pq_proj", pq_proj), ("pc_proj", pc_proj), ("q_proj", q_proj), ("c_proj", c_proj),
            ("k_proj", k_proj), ("v_proj", v_proj), ("out_proj", out_proj),
        ]
        return projections.flatMap { name, layer in layer?.parameters(prefix: qualifiedName(prefix, name)) ?? [] }
    }

    /// `s = (d/H)^−½`, applied to Π and q after their bias.
    func scale(_ d: Int) -> Float { 1 / Float(d / heads).squareRoot() }

    /// The pack query Π from P (raw P_i, also in pre-norm): `[B, H, L, d/H]`. Depends only on the source.
    public func packQuery(_ p: Variable) -> Variable {
        splitHeads(pq_proj(p), heads: heads) * scale(p.shape[2])  // [B, L, d] -> [B, H, L, d/H]
    }

    /// w(z): softplus with β = ln 2 (PyTorch's threshold 20 on βz), or elu(z) + 1.
    func weight(_ z: Variable) -> Variable {
        switch activation {
        case .softplus: softplus(z, beta: Float(Foundation.log(2.0)))
        case .elu: elu(z) + 1
        }
    }

    /// α, q, k, v for the tokens `y`: α `[B, H, T, L]`, the others `[B, H, T, d/H]`.
    func projections(_ y: Variable, packQuery: Variable) -> (alpha: Variable, q: Variable, k: Variable, v: Variable) {
        let c = splitHeads(pc_proj(y), heads: heads)  // [B, H, T, d/H]
        let alpha = dropout(weight(matmul(c, packQuery, transposeB: true)), probability: attentionDropout)  // [B, H, T, L]
        let q = splitHeads(q_proj(y), heads: heads) * scale(y.shape[2])  // [B, H, T, d/H]
        if let c_proj {
            let kv = splitHeads(c_proj(y), heads: heads)
            return (alpha, q, kv, kv)
        }
        return (alpha, q, splitHeads(k_proj!(y), heads: heads), splitHeads(v_proj!(y), heads: heads))
    }

    /// The whole target at once (training, scoring), by two chunked causal scans.
    /// - Parameters:
    ///   - y: `[B, T, d]` (layer-normed first in pre-norm).
    ///   - packQuery: Π from ``packQuery(_:)``, `[B, H, L, d/H]`.
    ///   - packedMask: 1 at masked P slots, `[B, 1, 1, L]`, or nil.
    /// - Returns: `[B, T, d]`.
    public func callAsFunction(_ y: Variable, packQuery: Variable, packedMask: Tensor?) -> Variable {
        let (alpha, q, k, v) = projections(y, packQuery: packQuery)
        let e = causalLinearAttention(query: q, key: k, value: alpha)  // [B, H, T, L]: (1/t) Σ_{s≤t} (q_t·k_s) α_s
        let pi = dropout(softmax(e, mask: packedMask), probability: attentionDropout)  // [B, H, T, L]
        let o = causalLinearAttention(query: pi, key: alpha, value: v)  // [B, H, T, d/H]: (1/t) Σ_{s≤t} (π_t·α_s) v_s
        return out_proj(mergeHeads(o))  // [B, T, d]
    }

    /// One decoding step: feeds one token per row, updates the running sums, returns `[B, 1, d]`.
    /// - Parameters:
    ///   - y: `[B, 1, d]`.
    ///   - state: S^K `[B, H, d/H, L]`, S^V `[B, H, L, d/H]`, and the step counter.
    public func step(
        _ y: Variable, packQuery: Variable, packedMask: Tensor?, state: inout CausalLunaState
    ) -> Variable {
        precondition(y.shape[1] == 1, "CausalLunaAttention.step: \(y.shape) is not one token per row")
        let (alpha, q, k, v) = projections(y, packQuery: packQuery)  // α [B, H, 1, L]; q, k, v [B, H, 1, d/H]
        let keySum = matmul(k, alpha, transposeA: true).value  // k_tᵀ α_t: [B, H, d/H, L]
        let valueSum = matmul(alpha, v, transposeA: true).value  // α_tᵀ v_t: [B, H, L, d/H]
        state.accumulate(keys: keySum, values: valueSum)
        let t = Float(state.steps)
        let e = matmul(q, Variable(state.keySum)) * (1 / t)  // [B, H, 1, L]
        let pi = softmax(e, mask: packedMask)
        let o = matmul(pi, Variable(state.valueSum)) * (1 / t)  // [B, H, 1, d/H]
        return out_proj(mergeHeads(o))  // [B, 1, d]
    }
}

/// Scaled dot-product attention over heads, composed from primitives:
/// ```
/// y = dropout(softmax(q·kᵀ, mask)) · v
/// ```
/// The caller applies the query scale (fairseq scales the biased query projection by `1/√k`).
///
/// Shapes: `query` `[B, H, Q, k]`, `key` `[B, H, K, k]`, `value` `[B, H, K, v]`, result `[B, H, Q, v]`;
/// `mask` (1 = masked) broadcasts to the scores `[B, H, Q, K]`, e.g. ``keyPaddingMask(_:)`` gives
/// `[B, 1, 1, K]`, and `Tensor.causalMask(Q)` is `[Q, K]`.
/// Used for softmax attention and for both of Luna's steps: pack (P queries the tokens) and unpack (the
/// tokens query the packed context).
public func attention(
    query: Variable, key: Variable, value: Variable, mask: Tensor? = nil, dropout probability: Float = 0
) -> Variable {
    precondition(
        query.shape.count == 4 && key.shape.count == 4 && value.shape.count == 4 && query.shape[3] == key.shape[3]
            && key.shape[2] == value.shape[2] && query.shape[0...1] == key.shape[0...1] && key.shape[0...1] == value.shape[0...1],
        "attention: query \(query.shape), key \(key.shape), value \(value.shape)")
    let scores = matmul(query, key, transposeB: true)  // [B, H, Q, k] x [B, H, K, k]ᵀ -> [B, H, Q, K]
    let weights = dropout(softmax(scores, mask: mask), probability: probability)  // [B, H, Q, K]
    return matmul(weights, value)  // [B, H, Q, K] x [B, H, K, v] -> [B, H, Q, v]
}

/// A key padding mask `[B, K]` (1 at padded keys) reshaped to `[B, 1, 1, K]`, to broadcast over heads and
/// queries in ``attention(query:key:value:mask:dropout:)``.
public func keyPaddingMask(_ mask: Tensor) -> Tensor {
    precondition(mask.rank == 2, "keyPaddingMask: \(mask.shape) is not [B, K]")
    return mask.reshaped([mask.shape[0], 1, 1, mask.shape[1]])
}

/// Multi-head scaled dot-product attention on `[B, N, H·k]` activations, fused: heads are read and written in
/// place through strided products (no head split/merge copies), the scale rides on the score product, and
/// attention dropout is regenerated from its seed in the backward.
/// ```
/// y_h = dropout(softmax(scale · q_h·k_hᵀ, mask)) · v_h,   y = concat_h(y_h)
/// ```
/// Equal in value and gradient to `mergeHeads(attention(query: splitHeads(q)·scale, key: splitHeads(k), …))`
/// (tested). Used by softmax attention and by Luna's pack and unpack steps.
///
/// Shapes: `query` `[B, Q, H·k]`, `key` `[B, K, H·k]`, `value` `[B, K, H·v]`, result `[B, Q, H·v]`; `mask`
/// (1 = masked) broadcasts to the scores `[B, H, Q, K]`, e.g. ``keyPaddingMask(_:)`` `[B, 1, 1, K]` or a
/// causal `[Q, K]`. Saves the attention probabilities `[B, H, Q, K]`.
/// Backward (per head, `P` the probabilities, `P̃` after dropout): `dv += P̃ᵀ·dy`, `dP̃ = dy·vᵀ`,
/// `dS = softmaxBackward(P, dropoutBackward(dP̃))`, `dq += scale·dS·k`, `dk += scale·dSᵀ·q`.
/// - Precondition: batch sizes and key lengths agree; widths are divisible by `heads`; query and key widths match.
public func multiHeadAttention(
    query: Variable, key: Variable, value: Variable, heads: Int, scale: Float, mask: Tensor? = nil, dropout p: Float = 0
) -> Variable {
    let op = "multiHeadAttention"
    precondition(
        query.shape.count == 3 && key.shape.count == 3 && value.shape.count == 3 && query.shape[0] == key.shape[0]
            && key.shape[0] == value.shape[0] && key.shape[1] == value.shape[1] && query.shape[2] == key.shape[2] && heads > 0
            && query.shape[2] % heads == 0 && value.shape[2] % heads == 0,
        "\(op): query \(query.shape), key \(key.shape), value \(value.shape), \(heads) heads")
    precondition(p >= 0 && p < 1, "\(op): dropout \(p) outside [0, 1)")
    let (b, nq, nk) = (query.shape[0], query.shape[1], key.shape[1])
    let (width, valueWidth) = (query.shape[2], value.shape[2])
    let (dk, dv) = (width / heads, valueWidth / heads)
    let scoresShape = [b, heads, nq, nk]
    let strides = mask.map { mask -> [Int] in
        let check = Broadcast(scoresShape, mask.shape, op: op)
        precondition(check.shape == scoresShape && mask.shape.last == nk, "\(op): mask \(mask.shape) does not broadcast to \(scoresShape)")
        return check.stridesB
    }
    let tape = commonTape([query, key, value], op: op)
    let dropping = p > 0 && tape?.isTraining == true
    let seed = dropping ? tape!.nextSeed() : 0
    let items = b * heads
    // Item i = (batch, head): the head's block of a [B, N, H·w] activation starts at batch·N·H·w + head·w.
    func block(_ i: Int, length: Int, width: Int, headWidth: Int) -> Int { (i / heads) * length * width + (i % heads) * headWidth }
    func withMask<R>(_ body: (RowMask?) -> R) -> R {
        guard let mask, let strides else { return body(nil) }
        return mask.withUnsafeBufferPointer { body(RowMask(pointer: $0.baseAddress!, shape: scoresShape, strides: strides)) }
    }

    var probabilities = makeOutput(scoresShape, tape)  // softmax(scale·q·kᵀ), saved
    var y = makeOutput([b, nq, valueWidth], tape)
    query.value.withUnsafeBufferPointer { pq in
        key.value.withUnsafeBufferPointer { pk in
            value.value.withUnsafeBufferPointer { pv in
                probabilities.withUnsafeMutableBufferPointer { pp in
                    let probs = pp.baseAddress!
                    // scores = scale · q_h·k_hᵀ: [Q, k] x [K, k]ᵀ per item
                    stridedGemm(
                        batch: items, transposeB: true, m: nq, n: nk, k: dk, alpha: scale,
                        a: pq.baseAddress!, lda: width, offsetA: { block($0, length: nq, width: width, headWidth: dk) },
                        b: pk.baseAddress!, ldb: width, offsetB: { block($0, length: nk, width: width, headWidth: dk) },
                        c: probs, ldc: nk, offsetC: { $0 * nq * nk })
                    withMask { softmaxKernel(probs, probs, rows: items * nq, columns: nk, mask: $0, log: false) }
                    var dropped: [Float] = []
                    if dropping {
                        dropped = tape!.pool.take(pp.count)
                        dropped.withUnsafeMutableBufferPointer {
                            dropoutKernel($0.baseAddress!, accumulate: false, probs, count: pp.count, probability: p, seed: seed)
                        }
                    }
                    dropped.withUnsafeBufferPointer { pd in
                        let weights = dropping ? pd.baseAddress! : UnsafePointer(probs)
                        y.withUnsafeMutableBufferPointer { py in
                            // y_h = P̃ · v_h: [Q, K] x [K, v], written into the head's columns of y
                            stridedGemm(
                                batch: items, m: nq, n: dv, k: nk, a: weights, lda: nk, offsetA: { $0 * nq * nk },
                                b: pv.baseAddress!, ldb: valueWidth, offsetB: { block($0, length: nk, width: valueWidth, headWidth: dv) },
                                c: py.baseAddress!, ldc: valueWidth, offsetC: { block($0, length: nq, width: valueWidth, headWidth: dv) })
                        }
                    }
                    if dropping { tape!.pool.recycle(dropped) }
                }
            }
        }
    }
    let (qSlot, kSlot, vSlot) = (query.gradientSlot, key.gradientSlot, value.gradientSlot)
    let (q, k, v) = (query.value, key.value, value.value)
    let saved = probabilities
    // The probabilities are the op's own scratch, not an output: recycle them after the backward (or now).
    guard tape != nil, qSlot != nil || kSlot != nil || vSlot != nil else {
        tape?.pool.recycle(probabilities.scalars)
        return record(y, inputs: [query, key, value], op: op) { _, _ in }
    }
    return record(y, inputs: [query, key, value], op: op) { dY, tape in
        var dScores = tape.allocate(scoresShape)
        var dropped = dropping ? tape.allocate(scoresShape) : Tensor(zeros: [0])
        dY.withUnsafeBufferPointer { pg in
            saved.withUnsafeBufferPointer { pp in
                dScores.withUnsafeMutableBufferPointer { pds in
                    dropped.withUnsafeMutableBufferPointer { pd in
                        let (g, probs, ds) = (pg.baseAddress!, pp.baseAddress!, pds.baseAddress!)
                        if dropping {
                            dropoutKernel(pd.baseAddress!, accumulate: false, probs, count: pp.count, probability: p, seed: seed)
                        }
                        let weights = dropping ? UnsafePointer(pd.baseAddress!) : probs
                        v.withUnsafeBufferPointer { pv in
                            // dP̃ = dy_h · v_hᵀ: [Q, v] x [K, v]ᵀ
                            stridedGemm(
                                batch: items, transposeB: true, m: nq, n: nk, k: dv,
                                a: g, lda: valueWidth, offsetA: { block($0, length: nq, width: valueWidth, headWidth: dv) },
                                b: pv.baseAddress!, ldb: valueWidth, offsetB: { block($0, length: nk, width: valueWidth, headWidth: dv) },
                                c: ds, ldc: nk, offsetC: { $0 * nq * nk })
                        }
                        tape.accumulateGradient(into: vSlot) { dV, accumulate in
                            // dv_h (+)= P̃ᵀ · dy_h: [Q, K]ᵀ x [Q, v]
                            stridedGemm(
                                batch: items, transposeA: true, m: nk, n: dv, k: nq, a: weights, lda: nk, offsetA: { $0 * nq * nk },
                                b: g, ldb: valueWidth, offsetB: { block($0, length: nq, width: valueWidth, headWidth: dv) },
                                beta: accumulate ? 1 : 0, c: dV.baseAddress!, ldc: valueWidth,
                                offsetC: { block($0, length: nk, width: valueWidth, headWidth: dv) })
                        }
                        // dS = P ⊙ (dP − Σ dP⊙P) with dP = dP̃ ⊙ mask/(1 − p), i.e. P̃ ⊙ dP̃ − P·Σ P̃⊙dP̃ (in place);
                        // masked entries get nothing
                        withMask {
                            softmaxBackwardKernel(
                                ds, accumulate: false, ds, probs, rows: items * nq, columns: nk, mask: $0, log: false,
                                dropped: dropping ? weights : nil)
                        }
                        tape.accumulateGradient(into: qSlot) { dQ, accumulate in
                            k.withUnsafeBufferPointer { pk in
                                // dq_h (+)= scale · dS · k_h: [Q, K] x [K, k]
                                stridedGemm(
                                    batch: items, m: nq, n: dk, k: nk, alpha: scale, a: ds, lda: nk, offsetA: { $0 * nq * nk },
                                    b: pk.baseAddress!, ldb: width, offsetB: { block($0, length: nk, width: width, headWidth: dk) },
                                    beta: accumulate ? 1 : 0, c: dQ.baseAddress!, ldc: width,
                                    offsetC: { block($0, length: nq, width: width, headWidth: dk) })
                            }
                        }
                        tape.accumulateGradient(into: kSlot) { dK, accumulate in
                            q.withUnsafeBufferPointer { pq in
                                // dk_h (+)= scale · dSᵀ · q_h: [Q, K]ᵀ x [Q, k]
                                stridedGemm(
                                    batch: items, transposeA: true, m: nk, n: dk, k: nq, alpha: scale, a: ds, lda: nk,
                                    offsetA: { $0 * nq * nk }, b: pq.baseAddress!, ldb: width,
                                    offsetB: { block($0, length: nq, width: width, headWidth: dk) },
                                    beta: accumulate ? 1 : 0, c: dK.baseAddress!, ldc: width,
                                    offsetC: { block($0, length: nk, width: width, headWidth: dk) })
                            }
                        }
                    }
                }
            }
        }
        tape.pool.recycle(dScores.scalars)
        if dropping { tape.pool.recycle(dropped.scalars) }
        tape.pool.recycle(saved.scalars)
    }
}

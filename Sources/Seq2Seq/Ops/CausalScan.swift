/// Causal linear attention, normalised by position (the core of Luna's causal attention, luna.md §2.2):
/// ```
/// y_t = c_t · Σ_{s ≤ t} (q_t · k_s) v_s,   c_t = 1/(t + 1) (t from 0) when normalised, else 1
/// ```
/// computed by a memory-light chunked scan (never materialising the `m × a × b` running sums).
///
/// Luna's causal attention is two of these per head: the unpack logits `e_t = (1/t) Σ_{s≤t} (q_t·k_s) α_s`
/// are `causalLinearAttention(query: q, key: k, value: α)`, and the output
/// `o_t = (1/t) Σ_{s≤t} (π_t·α_s) v_s` is `causalLinearAttention(query: π, key: α, value: v)`.
///
/// Shapes: `query`, `key` `[…, m, a]`; `value` `[…, m, b]`; result `[…, m, b]` (leading axes shared).
/// Backward, with `q' = c ⊙ q`: `dq = c ⊙ scan(dy, v, k)`, `dk = reverseScan(v, dy, q')`,
/// `dv = reverseScan(k, q', dy)`, where a reverse scan sums over `s ≥ t`.
/// - Precondition: the leading axes and `m` agree; `query` and `key` have the same last extent.
public func causalLinearAttention(
    query: Variable, key: Variable, value: Variable, normalizedByPosition: Bool = true, chunkSize: Int = 32
) -> Variable {
    let op = "causalLinearAttention"
    precondition(
        query.shape.count >= 2 && query.shape == key.shape && value.shape.count == query.shape.count
            && value.shape.dropLast() == query.shape.dropLast(),
        "\(op): query \(query.shape), key \(key.shape), value \(value.shape)")
    precondition(chunkSize > 0, "\(op): chunk size \(chunkSize)")
    let rank = query.shape.count
    let (m, a) = (query.shape[rank - 2], query.shape[rank - 1])
    let groups = query.shape.dropLast(2).reduce(1, *)
    let scale: [Float]? = normalizedByPosition ? (0..<m).map { 1 / Float($0 + 1) } : nil
    func withScale<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let scale else { return body(nil) }
        return scale.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
    func scan(
        _ y: UnsafeMutablePointer<Float>, _ accumulate: Bool, _ q: Tensor, _ k: Tensor, _ v: Tensor, scaled: Bool, reverse: Bool
    ) {
        let (keyWidth, valueWidth) = (q.shape[rank - 1], v.shape[rank - 1])
        q.withUnsafeBufferPointer { pq in
            k.withUnsafeBufferPointer { pk in
                v.withUnsafeBufferPointer { pv in
                    withScale { s in
                        causalScanKernel(
                            y, accumulate: accumulate, q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!,
                            scale: scaled ? s : nil, groups: groups, length: m, keyWidth: keyWidth, valueWidth: valueWidth,
                            chunk: chunkSize, reverse: reverse)
                    }
                }
            }
        }
    }
    let tape = commonTape([query, key, value], op: op)
    var y = makeOutput(value.shape, tape)
    y.withUnsafeMutableBufferPointer { scan($0.baseAddress!, false, query.value, key.value, value.value, scaled: true, reverse: false) }
    let (qSlot, kSlot, vSlot) = (query.gradientSlot, key.gradientSlot, value.gradientSlot)
    let (q, k, v) = (query.value, key.value, value.value)
    return record(y, inputs: [query, key, value], op: op) { dY, tape in
        tape.accumulateGradient(into: qSlot) { dQ, accumulate in
            scan(dQ.baseAddress!, accumulate, dY, v, k, scaled: true, reverse: false)
        }
        guard kSlot != nil || vSlot != nil else { return }
        // q' = c ⊙ q, rows scaled by 1/(t + 1)
        var scaledQ = q
        if let scale {
            scaledQ = tape.allocate(q.shape)
            q.withUnsafeBufferPointer { pq in
                scaledQ.withUnsafeMutableBufferPointer { ps in
                    for row in 0..<(groups * m) {
                        let s = scale[row % m]
                        for j in 0..<a { ps[row * a + j] = s * pq[row * a + j] }
                    }
                }
            }
        }
        tape.accumulateGradient(into: kSlot) { dK, accumulate in
            scan(dK.baseAddress!, accumulate, v, dY, scaledQ, scaled: false, reverse: true)
        }
        tape.accumulateGradient(into: vSlot) { dV, accumulate in
            scan(dV.baseAddress!, accumulate, k, scaledQ, dY, scaled: false, reverse: true)
        }
        if scale != nil { tape.pool.recycle(scaledQ.scalars) }
    }
}

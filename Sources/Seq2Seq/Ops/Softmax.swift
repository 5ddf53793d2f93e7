// Softmax and log-softmax over the last axis, with optional masks, and masked fill.

/// The mask's strides along the scores' axes, checking that it broadcasts over the leading axes.
private func maskStrides(_ mask: Tensor, for shape: [Int], op: String) -> [Int] {
    precondition(
        mask.shape.count <= shape.count && mask.shape.last == shape.last,
        "\(op): mask \(mask.shape) does not broadcast to \(shape) (its last extent must equal the row length)")
    let check = Broadcast(shape, mask.shape, op: op)
    precondition(check.shape == shape, "\(op): mask \(mask.shape) does not broadcast to \(shape)")
    return check.stridesB
}

/// Softmax over the last axis: `yᵢ = e^{xᵢ − max} / Σⱼ e^{xⱼ − max}` over unmasked entries.
///
/// Shapes: `x` `[…, K]`; `mask` (1 = masked, 0 = kept) broadcasts to `x` with last extent `K`, e.g. a key
/// padding mask `[B, 1, 1, K]` for scores `[B, H, Q, K]`, or a causal mask `[Q, K]`. Masked entries get
/// probability 0; a fully masked row is all 0.
/// Backward: `dx += y ⊙ (dy − Σ dy⊙y)`, zero at masked entries.
public func softmax(_ x: Variable, mask: Tensor? = nil) -> Variable {
    softmaxOp(x, mask: mask, log: false)
}

/// Log-softmax over the last axis: `yᵢ = xᵢ − max − ln Σⱼ e^{xⱼ − max}` (masked entries: −∞).
/// Shapes and masks as in ``softmax(_:mask:)``. Backward: `dx += dy − eʸ·Σ dy`, zero at masked entries.
public func logSoftmax(_ x: Variable, mask: Tensor? = nil) -> Variable {
    softmaxOp(x, mask: mask, log: true)
}

private func softmaxOp(_ x: Variable, mask: Tensor?, log: Bool) -> Variable {
    let op = log ? "logSoftmax" : "softmax"
    precondition(!x.shape.isEmpty, "\(op): x is a scalar")
    let strides = mask.map { maskStrides($0, for: x.shape, op: op) }
    let columns = x.shape[x.shape.count - 1]
    let rows = columns == 0 ? 0 : x.value.count / columns
    let tape = commonTape([x], op: op)
    var y = makeOutput(x.shape, tape)
    let shape = x.shape
    func withMask<R>(_ body: (RowMask?) -> R) -> R {
        guard let mask, let strides else { return body(nil) }
        return mask.withUnsafeBufferPointer { body(RowMask(pointer: $0.baseAddress!, shape: shape, strides: strides)) }
    }
    x.value.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in
            withMask { softmaxKernel(py.baseAddress!, px.baseAddress!, rows: rows, columns: columns, mask: $0, log: log) }
        }
    }
    let xSlot = x.gradientSlot
    let savedY = y
    return record(y, inputs: [x], op: op) { dY, tape in
        tape.accumulateGradient(into: xSlot) { dX, accumulate in
            dY.withUnsafeBufferPointer { g in
                savedY.withUnsafeBufferPointer { py in
                    withMask {
                        softmaxBackwardKernel(
                            dX.baseAddress!, accumulate: accumulate, g.baseAddress!, py.baseAddress!, rows: rows, columns: columns,
                            mask: $0, log: log)
                    }
                }
            }
        }
    }
}

/// `y = value` where `mask ≠ 0`, `x` elsewhere (`mask` broadcasts to `x`).
/// Backward: `dx += dy` where the mask is 0, nothing where it is set.
public func maskedFill(_ x: Variable, mask: Tensor, value: Float) -> Variable {
    let broadcast = Broadcast(x.shape, mask.shape, op: "maskedFill")
    precondition(broadcast.shape == x.shape, "maskedFill: mask \(mask.shape) does not broadcast to \(x.shape)")
    // keep = 1 − mask, as a full-size multiplier (masks are small next to the data they mask).
    var keep = Tensor(zeros: x.shape)
    var fill = Tensor(zeros: x.shape)
    mask.withUnsafeBufferPointer { pm in
        keep.withUnsafeMutableBufferPointer { pk in
            broadcastKernel(pk.baseAddress!, pm.baseAddress!, inShape: mask.shape, outShape: x.shape)
        }
    }
    for i in 0..<keep.count {
        let masked = keep.scalars[i] != 0
        keep.scalars[i] = masked ? 0 : 1
        fill.scalars[i] = masked ? value : 0
    }
    let tape = commonTape([x], op: "maskedFill")
    var y = makeOutput(x.shape, tape)
    x.value.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in
            for i in 0..<py.count { py[i] = keep.scalars[i] != 0 ? px[i] : fill.scalars[i] }
        }
    }
    let xSlot = x.gradientSlot
    return record(y, inputs: [x], op: "maskedFill") { dY, tape in
        tape.accumulateGradient(into: xSlot) { dX, accumulate in
            dY.withUnsafeBufferPointer { g in
                keep.withUnsafeBufferPointer { k in
                    backwardMapKernel(dX.baseAddress!, accumulate: accumulate, g.baseAddress!, k.baseAddress!, count: dX.count) { $0 * $1 }
                }
            }
        }
    }
}

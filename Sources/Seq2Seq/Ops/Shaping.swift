// Reshape, permute/transpose, head split/merge, slicing, concatenation and broadcasting.

/// The same elements under a new shape (one extent may be `-1`). Free: shares storage.
/// Backward: `dx += dy` (reshaped back).
public func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
    let y = x.value.reshaped(shape)
    let xSlot = x.gradientSlot
    // Shares x's storage, so it must not be recycled as a separate buffer.
    // dx is dy itself: handed over rather than copied (the logits' reshape before the loss is 130 MB a step).
    return record(y, inputs: [x], op: "reshape", pooled: false) { dY, tape in tape.passGradient(dY, into: xSlot) }
}

/// Permutes axes: the result's axis `i` is `x`'s axis `axes[i]`. Copies.
/// Backward: `dx += permute(dy, inverse(axes))`.
/// - Precondition: `axes` is a permutation of `0..<x.rank`.
public func permute(_ x: Variable, _ axes: [Int]) -> Variable {
    precondition(axes.sorted() == Array(0..<x.shape.count), "permute: \(axes) for shape \(x.shape)")
    let tape = commonTape([x], op: "permute")
    let outShape = axes.map { x.shape[$0] }
    var y = makeOutput(outShape, tape)
    x.value.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { permuteKernel($0.baseAddress!, accumulate: false, px.baseAddress!, inShape: x.shape, axes: axes) }
    }
    var inverse = [Int](repeating: 0, count: axes.count)
    for (i, axis) in axes.enumerated() { inverse[axis] = i }
    let xSlot = x.gradientSlot
    return record(y, inputs: [x], op: "permute") { dY, tape in
        tape.accumulateGradient(into: xSlot) { dX, accumulate in
            dY.withUnsafeBufferPointer { permuteKernel(dX.baseAddress!, accumulate: accumulate, $0.baseAddress!, inShape: outShape, axes: inverse) }
        }
    }
}

/// Swaps two axes (a copy). Negative axes count from the end.
public func transpose(_ x: Variable, _ axis0: Int = -2, _ axis1: Int = -1) -> Variable {
    let rank = x.shape.count
    let (a, b) = (axis0 < 0 ? axis0 + rank : axis0, axis1 < 0 ? axis1 + rank : axis1)
    precondition(a >= 0 && a < rank && b >= 0 && b < rank, "transpose: axes \(axis0), \(axis1) for shape \(x.shape)")
    var axes = Array(0..<rank)
    axes.swapAt(a, b)
    return permute(x, axes)
}

/// Splits the last axis into heads: `[B, N, H·k]` → `[B, H, N, k]` (head h owns dims `h·k..<(h+1)·k`).
public func splitHeads(_ x: Variable, heads: Int) -> Variable {
    precondition(x.shape.count == 3 && heads > 0 && x.shape[2] % heads == 0, "splitHeads: \(x.shape) into \(heads) heads")
    let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
    return permute(reshape(x, [b, n, heads, d / heads]), [0, 2, 1, 3])  // [B, N, H, k] -> [B, H, N, k]
}

/// Joins heads back: `[B, H, N, k]` → `[B, N, H·k]`, the inverse of ``splitHeads(_:heads:)``.
public func mergeHeads(_ x: Variable) -> Variable {
    precondition(x.shape.count == 4, "mergeHeads: \(x.shape) is not [B, H, N, k]")
    let (b, h, n, k) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    return reshape(permute(x, [0, 2, 1, 3]), [b, n, h * k])  // [B, H, N, k] -> [B, N, H, k] -> [B, N, H·k]
}

/// Elements `range` along `axis` (e.g. the first L rows of P's table). Copies.
/// Backward: `dy` is added into the same block of `dx`; the rest of `dx` gets nothing.
public func slice(_ x: Variable, axis: Int = 0, _ range: Range<Int>) -> Variable {
    let rank = x.shape.count
    let axis = axis < 0 ? axis + rank : axis
    precondition(axis >= 0 && axis < rank, "slice: axis \(axis) for shape \(x.shape)")
    precondition(range.lowerBound >= 0 && range.upperBound <= x.shape[axis], "slice: \(range) out of \(x.shape) on axis \(axis)")
    let outer = x.shape[..<axis].reduce(1, *)
    let inner = x.shape[(axis + 1)...].reduce(1, *)
    let extent = x.shape[axis]
    var outShape = x.shape
    outShape[axis] = range.count
    let tape = commonTape([x], op: "slice")
    var y = makeOutput(outShape, tape)
    x.value.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer {
            blockCopyKernel(
                $0.baseAddress!, accumulate: false, extentY: range.count, startY: 0, px.baseAddress!, extentX: extent,
                startX: range.lowerBound, count: range.count, outer: outer, inner: inner)
        }
    }
    let xSlot = x.gradientSlot
    return record(y, inputs: [x], op: "slice") { dY, tape in
        tape.accumulateGradient(into: xSlot) { dX, accumulate in
            if !accumulate { dX.update(repeating: 0) }
            dY.withUnsafeBufferPointer {
                blockCopyKernel(
                    dX.baseAddress!, accumulate: true, extentY: extent, startY: range.lowerBound, $0.baseAddress!,
                    extentX: range.count, startX: 0, count: range.count, outer: outer, inner: inner)
            }
        }
    }
}

/// Concatenates along `axis`; all other extents must agree. Backward: each input gets its block of `dy`.
public func concatenate(_ xs: [Variable], axis: Int = 0) -> Variable {
    precondition(!xs.isEmpty, "concatenate: no inputs")
    let rank = xs[0].shape.count
    let axis = axis < 0 ? axis + rank : axis
    precondition(axis >= 0 && axis < rank, "concatenate: axis \(axis) for shape \(xs[0].shape)")
    for x in xs {
        precondition(
            x.shape.count == rank && x.shape[..<axis] == xs[0].shape[..<axis] && x.shape[(axis + 1)...] == xs[0].shape[(axis + 1)...],
            "concatenate: shapes \(xs.map(\.shape)) differ off axis \(axis)")
    }
    let outer = xs[0].shape[..<axis].reduce(1, *)
    let inner = xs[0].shape[(axis + 1)...].reduce(1, *)
    let extents = xs.map { $0.shape[axis] }
    let total = extents.reduce(0, +)
    var outShape = xs[0].shape
    outShape[axis] = total
    let tape = commonTape(xs, op: "concatenate")
    var y = makeOutput(outShape, tape)
    var start = 0
    for (x, extent) in zip(xs, extents) {
        x.value.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer {
                blockCopyKernel(
                    $0.baseAddress!, accumulate: false, extentY: total, startY: start, px.baseAddress!, extentX: extent,
                    startX: 0, count: extent, outer: outer, inner: inner)
            }
        }
        start += extent
    }
    let slots = xs.map(\.gradientSlot)
    return record(y, inputs: xs, op: "concatenate") { dY, tape in
        var start = 0
        for (slot, extent) in zip(slots, extents) {
            tape.accumulateGradient(into: slot) { dX, accumulate in
                dY.withUnsafeBufferPointer {
                    blockCopyKernel(
                        dX.baseAddress!, accumulate: accumulate, extentY: extent, startY: 0, $0.baseAddress!, extentX: total,
                        startX: start, count: extent, outer: outer, inner: inner)
                }
            }
            start += extent
        }
    }
}

/// `x` broadcast to `shape` (numpy rules). Backward: `dx += dy` summed over the broadcast axes.
public func broadcast(_ x: Variable, to shape: [Int]) -> Variable {
    let check = Broadcast(x.shape, shape, op: "broadcast")
    precondition(check.shape == shape, "broadcast: \(x.shape) does not broadcast to \(shape)")
    let tape = commonTape([x], op: "broadcast")
    var y = makeOutput(shape, tape)
    x.value.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { broadcastKernel($0.baseAddress!, px.baseAddress!, inShape: x.shape, outShape: shape) }
    }
    let (xSlot, xShape) = (x.gradientSlot, x.shape)
    return record(y, inputs: [x], op: "broadcast") { dY, tape in
        tape.accumulateGradient(into: xSlot) { dX, accumulate in
            dY.withUnsafeBufferPointer { reduceToShapeKernel(dX.baseAddress!, accumulate: accumulate, $0.baseAddress!, outputShape: shape, shape: xShape) }
        }
    }
}

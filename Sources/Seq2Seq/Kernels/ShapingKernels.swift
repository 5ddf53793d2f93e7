// Data-movement kernels: permutation of axes, broadcast copy, slicing along one axis.

/// `y = permute(x, axes)`: `y`'s axis `i` is `x`'s axis `axes[i]`; `inShape` is `x`'s shape.
/// With `accumulate`, adds into `y` instead of overwriting it. Rows of `y` are split across threads.
func permuteKernel(
    _ y: UnsafeMutablePointer<Float>, accumulate: Bool, _ x: UnsafePointer<Float>, inShape: [Int], axes: [Int]
) {
    let rank = inShape.count
    let count = inShape.reduce(1, *)
    guard count > 0 else { return }
    if rank == 0 {
        y[0] = accumulate ? y[0] + x[0] : x[0]
        return
    }
    var inStrides = [Int](repeating: 1, count: rank)
    for axis in stride(from: rank - 2, through: 0, by: -1) { inStrides[axis] = inStrides[axis + 1] * inShape[axis + 1] }
    let outShape = axes.map { inShape[$0] }
    let strides = axes.map { inStrides[$0] }  // x's stride along each axis of y
    let columns = outShape[rank - 1]
    let step = strides[rank - 1]
    let rows = count / columns
    Parallel.forEachRange(rows, work: count) { range in
        for row in range {
            let source = x + rowOffset(row, shape: outShape, strides: strides)
            let target = y + row * columns
            if step == 1 {
                if accumulate { for j in 0..<columns { target[j] += source[j] } } else { target.update(from: source, count: columns) }
            } else {
                if accumulate {
                    for j in 0..<columns { target[j] += source[j * step] }
                } else {
                    for j in 0..<columns { target[j] = source[j * step] }
                }
            }
        }
    }
}

/// `y = x` broadcast from `inShape` (padded to `outShape`'s rank) to `outShape`.
func broadcastKernel(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, inShape: [Int], outShape: [Int]) {
    let padded = [Int](repeating: 1, count: outShape.count - inShape.count) + inShape
    let strides = broadcastStrides(padded, to: outShape)
    let count = outShape.reduce(1, *)
    guard count > 0 else { return }
    guard let columns = outShape.last else {
        y[0] = x[0]
        return
    }
    let step = strides[strides.count - 1]
    Parallel.forEachRange(count / columns, work: count) { range in
        for row in range {
            let source = x + rowOffset(row, shape: outShape, strides: strides)
            let target = y + row * columns
            if step == 1 { target.update(from: source, count: columns) } else { for j in 0..<columns { target[j] = source[0] } }
        }
    }
}

/// Copies blocks between a `[outer, extentY, inner]` and a `[outer, extentX, inner]` layout: for each
/// outer index, `count·inner` elements starting at `startY·inner` in `y` and `startX·inner` in `x`.
func blockCopyKernel(
    _ y: UnsafeMutablePointer<Float>, accumulate: Bool, extentY: Int, startY: Int,
    _ x: UnsafePointer<Float>, extentX: Int, startX: Int, count: Int, outer: Int, inner: Int
) {
    let run = count * inner
    Parallel.forEachRange(outer, work: outer * run) { range in
        for o in range {
            let target = y + (o * extentY + startY) * inner
            let source = x + (o * extentX + startX) * inner
            if accumulate { for j in 0..<run { target[j] += source[j] } } else { target.update(from: source, count: run) }
        }
    }
}

import Foundation

// Elementwise kernels: output first, then inputs, then sizes. Rows are split across threads; each element
// is computed the same way whatever the split.

/// `y[i] = f(x[i])` for `i < count`.
@inline(__always)
func mapKernel(
    _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int, _ f: (Float) -> Float
) {
    Parallel.forEachRange(count, work: count) { range in
        for i in range { y[i] = f(x[i]) }
    }
}

/// `d[i] (+)= f(g[i], s[i])`: the usual shape of a unary op's backward (`g` the output gradient, `s` a
/// saved tensor). With `accumulate == false`, `d` is overwritten.
@inline(__always)
func backwardMapKernel(
    _ d: UnsafeMutablePointer<Float>, accumulate: Bool, _ g: UnsafePointer<Float>,
    _ s: UnsafePointer<Float>, count: Int, _ f: (Float, Float) -> Float
) {
    Parallel.forEachRange(count, work: count) { range in
        if accumulate {
            for i in range { d[i] += f(g[i], s[i]) }
        } else {
            for i in range { d[i] = f(g[i], s[i]) }
        }
    }
}

/// `d[i] (+)= alpha·g[i]`.
func scaleAddKernel(
    _ d: UnsafeMutablePointer<Float>, accumulate: Bool, _ g: UnsafePointer<Float>, alpha: Float, count: Int
) {
    Parallel.forEachRange(count, work: count) { range in
        if accumulate {
            if alpha == 1 { for i in range { d[i] += g[i] } } else { for i in range { d[i] += alpha * g[i] } }
        } else {
            if alpha == 1 { for i in range { d[i] = g[i] } } else { for i in range { d[i] = alpha * g[i] } }
        }
    }
}

/// The binary operations of ``binaryKernel``.
enum BinaryOperation {
    case add, subtract, multiply, divide
}

/// How two shapes broadcast to a common shape (numpy rules: align right, extents equal or 1).
struct Broadcast {
    /// The result shape.
    let shape: [Int]
    /// Strides of each operand along the result's axes, 0 where the operand is broadcast.
    let stridesA: [Int]
    let stridesB: [Int]

    init(_ a: [Int], _ b: [Int], op: String) {
        let rank = max(a.count, b.count)
        let paddedA = [Int](repeating: 1, count: rank - a.count) + a
        let paddedB = [Int](repeating: 1, count: rank - b.count) + b
        var shape = [Int](repeating: 1, count: rank)
        for axis in 0..<rank {
            let (x, y) = (paddedA[axis], paddedB[axis])
            precondition(x == y || x == 1 || y == 1, "\(op): shapes \(a) and \(b) do not broadcast")
            shape[axis] = x == 1 ? y : x
        }
        self.shape = shape
        stridesA = broadcastStrides(paddedA, to: shape)
        stridesB = broadcastStrides(paddedB, to: shape)
    }
}

/// Row-major strides of `shape` (already padded to `target`'s rank), with 0 on axes broadcast to `target`.
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    var strides = [Int](repeating: 0, count: target.count)
    var running = 1
    for axis in stride(from: target.count - 1, through: 0, by: -1) {
        strides[axis] = shape[axis] == 1 && target[axis] != 1 ? 0 : running
        running *= shape[axis]
    }
    return strides
}

/// Offset of row `row` (a flat index over all axes but the last) given per-axis strides.
@inline(__always)
func rowOffset(_ row: Int, shape: [Int], strides: [Int]) -> Int {
    var remainder = row
    var offset = 0
    for axis in stride(from: shape.count - 2, through: 0, by: -1) {
        let extent = shape[axis]
        offset += (remainder % extent) * strides[axis]
        remainder /= extent
    }
    return offset
}

/// `y = a ∘ b` with broadcasting described by `broadcast`; `y` has `broadcast.shape`.
func binaryKernel(
    _ y: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ broadcast: Broadcast, _ operation: BinaryOperation
) {
    let shape = broadcast.shape
    let count = shape.reduce(1, *)
    guard count > 0 else { return }
    @inline(__always) func apply(_ x: Float, _ z: Float) -> Float {
        switch operation {
        case .add: x + z
        case .subtract: x - z
        case .multiply: x * z
        case .divide: x / z
        }
    }
    if shape.isEmpty {
        y[0] = apply(a[0], b[0])
        return
    }
    let columns = shape[shape.count - 1]
    let rows = count / columns
    let (sa, sb) = (broadcast.stridesA, broadcast.stridesB)
    let (ca, cb) = (sa[shape.count - 1], sb[shape.count - 1])
    Parallel.forEachRange(rows, work: count) { range in
        for row in range {
            let out = y + row * columns
            let pa = a + rowOffset(row, shape: shape, strides: sa)
            let pb = b + rowOffset(row, shape: shape, strides: sb)
            switch (operation, ca, cb) {
            case (.add, 1, 1): for j in 0..<columns { out[j] = pa[j] + pb[j] }
            case (.add, 1, 0): let z = pb[0]; for j in 0..<columns { out[j] = pa[j] + z }
            case (.multiply, 1, 1): for j in 0..<columns { out[j] = pa[j] * pb[j] }
            case (.multiply, 1, 0): let z = pb[0]; for j in 0..<columns { out[j] = pa[j] * z }
            case (.multiply, 0, 1): let x = pa[0]; for j in 0..<columns { out[j] = x * pb[j] }
            case (.subtract, 1, 1): for j in 0..<columns { out[j] = pa[j] - pb[j] }
            default: for j in 0..<columns { out[j] = apply(pa[j * ca], pb[j * cb]) }
            }
        }
    }
}

/// `d (+)= Σ over broadcast axes of g`: the gradient of an operand broadcast from `shape` (padded to the
/// rank of `outputShape`) to `outputShape`. Each element of `d` is summed in row order, so the result does
/// not depend on the thread count.
func reduceToShapeKernel(
    _ d: UnsafeMutablePointer<Float>, accumulate: Bool, _ g: UnsafePointer<Float>,
    outputShape: [Int], shape: [Int]
) {
    let count = outputShape.reduce(1, *)
    let target = shape.reduce(1, *)
    let padded = [Int](repeating: 1, count: outputShape.count - shape.count) + shape
    if padded == outputShape {
        scaleAddKernel(d, accumulate: accumulate, g, alpha: 1, count: count)
        return
    }
    // The common case: leading axes broadcast, trailing axes equal (a bias): column sums.
    if let split = padded.firstIndex(where: { $0 != 1 }),
        padded[split...] == outputShape[split...]
    {
        columnSumKernel(d, accumulate: accumulate, g, rows: count / max(target, 1), columns: target)
        return
    }
    if !accumulate { for i in 0..<target { d[i] = 0 } }
    guard count > 0 else { return }
    let strides = broadcastStrides(padded, to: outputShape)
    let columns = outputShape.last ?? 1
    let step = strides.last ?? 0
    for row in 0..<(count / columns) {
        let base = d + rowOffset(row, shape: outputShape, strides: strides)
        let source = g + row * columns
        if outputShape.isEmpty {
            base[0] += source[0]
        } else {
            for j in 0..<columns { base[j * step] += source[j] }
        }
    }
}

/// `d[c] (+)= Σ_r g[r, c]` for a `[rows, columns]` matrix; columns are split across threads, and each
/// column is summed in row order.
func columnSumKernel(
    _ d: UnsafeMutablePointer<Float>, accumulate: Bool, _ g: UnsafePointer<Float>, rows: Int, columns: Int
) {
    Parallel.forEachRange(columns, work: rows * columns) { range in
        if !accumulate { for c in range { d[c] = 0 } }
        for r in 0..<rows {
            let row = g + r * columns
            for c in range { d[c] += row[c] }
        }
    }
}

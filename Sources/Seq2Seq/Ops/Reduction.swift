// Sums and means, over one axis or everything, and the causal prefix sum.

/// The `[outer, extent, inner]` view of `shape` around `axis`.
private func axisView(_ shape: [Int], _ axis: Int, op: String) -> (axis: Int, outer: Int, extent: Int, inner: Int) {
    let axis = axis < 0 ? axis + shape.count : axis
    precondition(axis >= 0 && axis < shape.count, "\(op): axis \(axis) for shape \(shape)")
    return (axis, shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
}

/// `Σ` along `axis` (dropped unless `keepingDimension`). Backward: `dx += dy` broadcast along `axis`.
public func sum(_ x: Variable, axis: Int, keepingDimension: Bool = false) -> Variable {
    reduceAxis(x, axis: axis, keepingDimension: keepingDimension, mean: false)
}

/// Mean along `axis` (dropped unless `keepingDimension`). Backward: `dx += dy / extent` along `axis`.
public func mean(_ x: Variable, axis: Int, keepingDimension: Bool = false) -> Variable {
    reduceAxis(x, axis: axis, keepingDimension: keepingDimension, mean: true)
}

private func reduceAxis(_ x: Variable, axis: Int, keepingDimension: Bool, mean: Bool) -> Variable {
    let op = mean ? "mean" : "sum"
    let (axis, outer, extent, inner) = axisView(x.shape, axis, op: op)
    var outShape = x.shape
    if keepingDimension { outShape[axis] = 1 } else { outShape.remove(at: axis) }
    let tape = commonTape([x], op: op)
    var y = makeOutput(outShape, tape)
    let alpha: Float = mean ? 1 / Float(max(extent, 1)) : 1
    x.value.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in
            axisSumKernel(py.baseAddress!, accumulate: false, px.baseAddress!, outer: outer, extent: extent, inner: inner)
            if mean { for i in 0..<py.count { py[i] *= alpha } }
        }
    }
    let xSlot = x.gradientSlot
    return record(y, inputs: [x], op: op) { dY, tape in
        tape.accumulateGradient(into: xSlot) { dX, accumulate in
            dY.withUnsafeBufferPointer {
                axisBroadcastKernel(dX.baseAddress!, accumulate: accumulate, $0.baseAddress!, alpha: alpha, outer: outer, extent: extent, inner: inner)
            }
        }
    }
}

/// `Σ` of all elements, a scalar of shape `[]` (accumulated in Double). Backward: `dx += dy`.
public func sum(_ x: Variable) -> Variable {
    let tape = commonTape([x], op: "sum")
    var y = makeOutput([], tape)
    let total = x.value.withUnsafeBufferPointer { totalSumKernel($0.baseAddress!, count: $0.count) }
    y.withUnsafeMutableBufferPointer { $0[0] = Float(total) }
    let xSlot = x.gradientSlot
    return record(y, inputs: [x], op: "sum") { dY, tape in
        let g = dY.scalars[0]
        tape.accumulateGradient(into: xSlot) { dX, accumulate in
            if accumulate { for i in 0..<dX.count { dX[i] += g } } else { dX.update(repeating: g) }
        }
    }
}

/// Mean of all elements, a scalar of shape `[]`.
public func mean(_ x: Variable) -> Variable { sum(x) * (1 / Float(max(x.value.count, 1))) }

/// Inclusive prefix sum along `axis`: `y[…, t, …] = Σ_{s ≤ t} x[…, s, …]` (the causal running sum).
/// Backward: `dx[…, s, …] += Σ_{t ≥ s} dy[…, t, …]` (a suffix sum).
public func cumulativeSum(_ x: Variable, axis: Int) -> Variable {
    let (_, outer, extent, inner) = axisView(x.shape, axis, op: "cumulativeSum")
    let tape = commonTape([x], op: "cumulativeSum")
    var y = makeOutput(x.shape, tape)
    x.value.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer {
            cumulativeSumKernel($0.baseAddress!, accumulate: false, px.baseAddress!, outer: outer, extent: extent, inner: inner, reverse: false)
        }
    }
    let xSlot = x.gradientSlot
    return record(y, inputs: [x], op: "cumulativeSum") { dY, tape in
        tape.accumulateGradient(into: xSlot) { dX, accumulate in
            dY.withUnsafeBufferPointer {
                cumulativeSumKernel(dX.baseAddress!, accumulate: accumulate, $0.baseAddress!, outer: outer, extent: extent, inner: inner, reverse: true)
            }
        }
    }
}

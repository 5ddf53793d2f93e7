// Broadcasting arithmetic. Shapes broadcast as in numpy: aligned on the right, extents equal or 1.
// The gradient of a broadcast operand is the output gradient summed over the broadcast axes.

/// `a + b`, broadcasting. Shapes: `a` and `b` broadcast to the output.
public func + (a: Variable, b: Variable) -> Variable { binary(a, b, .add, op: "add") }
/// `a − b`, broadcasting.
public func - (a: Variable, b: Variable) -> Variable { binary(a, b, .subtract, op: "subtract") }
/// `a ⊙ b` (elementwise product), broadcasting.
public func * (a: Variable, b: Variable) -> Variable { binary(a, b, .multiply, op: "multiply") }
/// `a / b` (elementwise), broadcasting.
public func / (a: Variable, b: Variable) -> Variable { binary(a, b, .divide, op: "divide") }

/// `x · c` for a constant `c`.
public func * (x: Variable, c: Float) -> Variable { scaled(x, by: c) }
/// `c · x` for a constant `c`.
public func * (c: Float, x: Variable) -> Variable { scaled(x, by: c) }
/// `x + c` for a constant `c`.
public func + (x: Variable, c: Float) -> Variable { shifted(x, by: c) }
/// `−x`.
public prefix func - (x: Variable) -> Variable { scaled(x, by: -1) }

/// `y = c·x`. Backward: `dx += c·dy`.
public func scaled(_ x: Variable, by c: Float) -> Variable {
    let tape = commonTape([x], op: "scaled")
    var y = makeOutput(x.shape, tape)
    x.value.withUnsafeBufferPointer { xs in
        y.withUnsafeMutableBufferPointer { ys in mapKernel(ys.baseAddress!, xs.baseAddress!, count: xs.count) { c * $0 } }
    }
    let xSlot = x.gradientSlot
    return record(y, inputs: [x], op: "scaled") { dY, tape in
        tape.accumulateGradient(into: xSlot) { dX, accumulate in
            dY.withUnsafeBufferPointer { scaleAddKernel(dX.baseAddress!, accumulate: accumulate, $0.baseAddress!, alpha: c, count: dX.count) }
        }
    }
}

/// `y = x + c`. Backward: `dx += dy`.
public func shifted(_ x: Variable, by c: Float) -> Variable {
    let tape = commonTape([x], op: "shifted")
    var y = makeOutput(x.shape, tape)
    x.value.withUnsafeBufferPointer { xs in
        y.withUnsafeMutableBufferPointer { ys in mapKernel(ys.baseAddress!, xs.baseAddress!, count: xs.count) { $0 + c } }
    }
    let xSlot = x.gradientSlot
    return record(y, inputs: [x], op: "shifted") { dY, tape in tape.passGradient(dY, into: xSlot) }
}

private func binary(_ a: Variable, _ b: Variable, _ operation: BinaryOperation, op: String) -> Variable {
    let tape = commonTape([a, b], op: op)
    let broadcast = Broadcast(a.shape, b.shape, op: op)
    var y = makeOutput(broadcast.shape, tape)
    a.value.withUnsafeBufferPointer { pa in
        b.value.withUnsafeBufferPointer { pb in
            y.withUnsafeMutableBufferPointer { py in
                binaryKernel(py.baseAddress!, pa.baseAddress!, pb.baseAddress!, broadcast, operation)
            }
        }
    }
    let (aSlot, bSlot) = (a.gradientSlot, b.gradientSlot)
    let (aShape, bShape, outShape) = (a.shape, b.shape, broadcast.shape)
    // Save only what the backward needs: nothing for ±, the other operand for ⊙, b and y for ÷.
    let savedA = operation == .multiply && bSlot != nil ? a.value : nil
    let savedB = operation == .multiply || operation == .divide ? b.value : nil
    let savedY = operation == .divide && bSlot != nil ? y : nil
    return record(y, inputs: [a, b], op: op) { dY, tape in
        /// Accumulates `Σ_broadcast (sign·term)` into `slot`, where `term` has the output shape.
        func reduce(_ term: Tensor, into slot: Int?, shape: [Int]) {
            tape.accumulateGradient(into: slot) { d, accumulate in
                term.withUnsafeBufferPointer {
                    reduceToShapeKernel(d.baseAddress!, accumulate: accumulate, $0.baseAddress!, outputShape: outShape, shape: shape)
                }
            }
        }
        /// `dY ∘ other` broadcast to the output shape (a temporary from the pool).
        func product(_ other: Tensor, _ operation: BinaryOperation) -> Tensor {
            var term = tape.allocate(outShape)
            let inner = Broadcast(outShape, other.shape, op: op)
            dY.withUnsafeBufferPointer { pg in
                other.withUnsafeBufferPointer { po in
                    term.withUnsafeMutableBufferPointer { binaryKernel($0.baseAddress!, pg.baseAddress!, po.baseAddress!, inner, operation) }
                }
            }
            return term
        }
        func negated(_ t: Tensor) -> Tensor {
            var t = t
            t.withUnsafeMutableBufferPointer { p in mapKernel(p.baseAddress!, p.baseAddress!, count: p.count) { -$0 } }
            return t
        }
        /// `+dY` into `slot`: handed over without a copy when no broadcast is involved.
        func pass(into slot: Int?, shape: [Int]) {
            if shape == outShape { tape.passGradient(dY, into: slot) } else { reduce(dY, into: slot, shape: shape) }
        }
        switch operation {
        case .add:
            pass(into: aSlot, shape: aShape)
            pass(into: bSlot, shape: bShape)
        case .subtract:
            pass(into: aSlot, shape: aShape)
            if bSlot != nil {
                let term = negated(product(Tensor(scalar: 1), .multiply))
                reduce(term, into: bSlot, shape: bShape)
                tape.pool.recycle(term.scalars)
            }
        case .multiply:
            if aSlot != nil {
                let term = product(savedB!, .multiply)
                reduce(term, into: aSlot, shape: aShape)
                tape.pool.recycle(term.scalars)
            }
            if bSlot != nil {
                let term = product(savedA!, .multiply)
                reduce(term, into: bSlot, shape: bShape)
                tape.pool.recycle(term.scalars)
            }
        case .divide:
            if aSlot != nil {
                let term = product(savedB!, .divide)  // dY / b
                reduce(term, into: aSlot, shape: aShape)
                tape.pool.recycle(term.scalars)
            }
            if bSlot != nil {
                // d(a/b)/db = −y/b
                var term = product(savedY!, .multiply)
                let inner = Broadcast(outShape, savedB!.shape, op: op)
                savedB!.withUnsafeBufferPointer { pb in
                    term.withUnsafeMutableBufferPointer { pt in  // in place: elementwise, so safe
                        binaryKernel(pt.baseAddress!, pt.baseAddress!, pb.baseAddress!, inner, .divide)
                    }
                }
                term = negated(term)
                reduce(term, into: bSlot, shape: bShape)
                tape.pool.recycle(term.scalars)
            }
        }
    }
}

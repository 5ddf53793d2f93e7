/// Layer normalisation over the last axis (fused): `y = (x − μ)/√(σ² + ε) · weight + bias`.
///
/// Shapes: `x` `[…, D]`, `weight` and `bias` `[D]`. `σ²` is the biased variance, as in PyTorch's
/// `nn.LayerNorm`. Saves the input, the per-row mean and reciprocal standard deviation.
/// Backward: see `layerNormBackwardKernel` (matches the composite of primitives, tested).
/// - Precondition: `weight` and `bias` have shape `[D]`.
public func layerNorm(_ x: Variable, weight: Variable, bias: Variable, epsilon: Float = 1e-5) -> Variable {
    let op = "layerNorm"
    guard let columns = x.shape.last else { preconditionFailure("\(op): x is a scalar") }
    precondition(weight.shape == [columns] && bias.shape == [columns], "\(op): x \(x.shape), weight \(weight.shape), bias \(bias.shape)")
    let rows = columns == 0 ? 0 : x.value.count / columns
    let tape = commonTape([x, weight, bias], op: op)
    var y = makeOutput(x.shape, tape)
    var mean = Tensor.uninitialized([rows])
    var rstd = Tensor.uninitialized([rows])
    x.value.withUnsafeBufferPointer { px in
        weight.value.withUnsafeBufferPointer { pw in
            bias.value.withUnsafeBufferPointer { pb in
                y.withUnsafeMutableBufferPointer { py in
                    mean.withUnsafeMutableBufferPointer { pm in
                        rstd.withUnsafeMutableBufferPointer { ps in
                            layerNormKernel(
                                py.baseAddress!, mean: pm.baseAddress!, rstd: ps.baseAddress!, px.baseAddress!,
                                weight: pw.baseAddress!, bias: pb.baseAddress!, rows: rows, columns: columns, epsilon: epsilon)
                        }
                    }
                }
            }
        }
    }
    let (xSlot, wSlot, bSlot) = (x.gradientSlot, weight.gradientSlot, bias.gradientSlot)
    let (savedX, savedW) = (x.value, weight.value)
    return record(y, inputs: [x, weight, bias], op: op) { dY, tape in
        // The parameters accumulate, so their buffers are zero-filled on first use.
        var dWeight: Tensor?
        var dBias: Tensor?
        if wSlot != nil { dWeight = Tensor(zeros: [columns]) }
        if bSlot != nil { dBias = Tensor(zeros: [columns]) }
        func run(_ dx: UnsafeMutablePointer<Float>?, _ accumulate: Bool) {
            dY.withUnsafeBufferPointer { g in
                savedX.withUnsafeBufferPointer { px in
                    savedW.withUnsafeBufferPointer { pw in
                        mean.withUnsafeBufferPointer { pm in
                            rstd.withUnsafeBufferPointer { ps in
                                withOptionalPointer(&dWeight) { dW in
                                    withOptionalPointer(&dBias) { dB in
                                        layerNormBackwardKernel(
                                            dx: dx, accumulateX: accumulate, dWeight: dW, dBias: dB, g.baseAddress!, px.baseAddress!,
                                            weight: pw.baseAddress!, mean: pm.baseAddress!, rstd: ps.baseAddress!, rows: rows, columns: columns)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if xSlot != nil {
            tape.accumulateGradient(into: xSlot) { dX, accumulate in run(dX.baseAddress!, accumulate) }
        } else {
            run(nil, false)
        }
        for (slot, partial) in [(wSlot, dWeight), (bSlot, dBias)] {
            guard let partial else { continue }
            tape.accumulateGradient(into: slot) { d, accumulate in
                partial.withUnsafeBufferPointer { scaleAddKernel(d.baseAddress!, accumulate: accumulate, $0.baseAddress!, alpha: 1, count: d.count) }
            }
        }
    }
}

/// Calls `body` with a mutable pointer into `tensor`'s storage, or nil when there is no tensor.
func withOptionalPointer<R>(_ tensor: inout Tensor?, _ body: (UnsafeMutablePointer<Float>?) -> R) -> R {
    guard tensor != nil else { return body(nil) }
    return tensor!.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
}

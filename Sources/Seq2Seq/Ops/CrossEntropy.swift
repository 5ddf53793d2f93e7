import Foundation

/// Label-smoothed cross-entropy from logits, fused with the log-softmax (fairseq's current
/// `label_smoothed_cross_entropy`).
///
/// With `lp = logSoftmax(logits)` per row, `nll = −lp[target]`, `smooth = −Σ_v lp[v]`, `εᵢ = ε/(V − 1)`:
/// ```
/// loss = Σ_rows (1 − ε − εᵢ)·nll + εᵢ·smooth        (rows whose target is `ignoring` are skipped)
/// ```
/// Shapes: `logits` `[N, V]` (or `[…, V]`, flattened), `targets` N ids. The sums run in Double.
/// Backward: `dlogits[n, v] += dloss · (p[n, v] − (1 − ε − εᵢ)·[v = tₙ] − εᵢ)`, 0 on skipped rows
/// (the smoothing weights sum to one, so `p` appears with coefficient 1). When the logits need a gradient,
/// the forward writes that gradient per unit of `dloss` while each row is in cache (a buffer the size of the
/// logits); the backward hands it on as the logits' gradient when `dloss = 1`, as in training, and scales
/// it otherwise, so the exponentials are taken once.
/// - Returns: the summed loss (shape `[]`), the summed `nll` and the number of rows counted.
/// - Precondition: every counted target is in `0..<V`.
public func labelSmoothedCrossEntropy(
    logits: Variable, targets: [Int], labelSmoothing epsilon: Float = 0, ignoring ignoredTarget: Int? = nil
) -> (loss: Variable, nllLoss: Double, count: Int) {
    let op = "labelSmoothedCrossEntropy"
    guard let vocabulary = logits.shape.last, vocabulary > 0 else { preconditionFailure("\(op): logits \(logits.shape)") }
    let rows = logits.value.count / vocabulary
    precondition(targets.count == rows, "\(op): \(targets.count) targets for logits \(logits.shape)")
    for t in targets where t != ignoredTarget {
        precondition(t >= 0 && t < vocabulary, "\(op): target \(t) outside 0..<\(vocabulary)")
    }
    let smoothingShare = vocabulary > 1 ? Double(epsilon) / Double(vocabulary - 1) : 0
    let targetWeight = 1 - Double(epsilon) - smoothingShare
    let (a, b) = (Float(targetWeight), Float(smoothingShare))
    let tape = commonTape([logits], op: op)
    let logitsSlot = logits.gradientSlot
    // dloss/dlogits for dloss = 1, [N, V]: only when a gradient is wanted.
    var unitGradient = logitsSlot == nil ? nil : tape?.allocate([rows, vocabulary])
    // Per counted row: the loss and the nll.
    var rowLoss = [Double](repeating: 0, count: rows)
    var rowNLL = [Double](repeating: 0, count: rows)
    /// Fills the row losses (and, with `g`, the unit gradient).
    func forward(_ g: UnsafeMutablePointer<Float>?) {
        logits.value.withUnsafeBufferPointer { pz in
            rowLoss.withUnsafeMutableBufferPointer { ploss in
                rowNLL.withUnsafeMutableBufferPointer { pnll in
                    let (z, loss, nll) = (pz.baseAddress!, ploss.baseAddress!, pnll.baseAddress!)
                    targets.withUnsafeBufferPointer { pt in
                        let t = pt.baseAddress!
                        Parallel.forEachRange(rows, work: rows * vocabulary * 8) { range in
                            for r in range {
                                let gradientRow = g.map { $0 + r * vocabulary }
                                // A skipped row has no loss and no gradient.
                                guard t[r] != ignoredTarget else {
                                    gradientRow?.update(repeating: 0, count: vocabulary)
                                    continue
                                }
                                let row = z + r * vocabulary
                                let (maximum, total, sum) = shiftedExponentialAndPlainSums(row, count: vocabulary, keeping: gradientRow)
                                let l = Double(maximum) + Foundation.log(total)
                                let rowNLL = l - Double(row[t[r]])
                                let smooth = Double(vocabulary) * l - sum
                                nll[r] = rowNLL
                                loss[r] = targetWeight * rowNLL + smoothingShare * smooth
                                if let gradientRow {
                                    // p − εᵢ from the exponentials just stored, then the target's extra −(1 − ε − εᵢ).
                                    scaleShift(gradientRow, count: vocabulary, scale: Float(1 / total), shift: b)
                                    gradientRow[t[r]] -= a
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if unitGradient != nil {
        unitGradient!.withUnsafeMutableBufferPointer { forward($0.baseAddress!) }
    } else {
        forward(nil)
    }
    let counted = targets.filter { $0 != ignoredTarget }.count
    var y = makeOutput([], tape)
    y.withUnsafeMutableBufferPointer { $0[0] = Float(rowLoss.reduce(0, +)) }
    // The backward gives the buffer away, so the closure holds it in a box it can empty.
    let saved = TensorBox(unitGradient)
    unitGradient = nil
    let loss = record(y, inputs: [logits], op: op) { dLoss, tape in
        guard let gradient = saved.take() else { return }
        let scale = dLoss.scalars[0]
        if scale == 1 {
            tape.giveGradient(gradient, into: logitsSlot)
            return
        }
        tape.accumulateGradient(into: logitsSlot) { dZ, accumulate in
            gradient.withUnsafeBufferPointer {
                scaleAddKernel(dZ.baseAddress!, accumulate: accumulate, $0.baseAddress!, alpha: scale, count: dZ.count)
            }
        }
        tape.pool.recycle(gradient.scalars)
    }
    return (loss, rowNLL.reduce(0, +), counted)
}

/// A tensor a backward closure can give away (the closure's captures are constants).
private final class TensorBox {
    private var tensor: Tensor?
    init(_ tensor: Tensor?) { self.tensor = tensor }
    /// The tensor, leaving the box empty.
    func take() -> Tensor? {
        defer { tensor = nil }
        return tensor
    }
}

/// For one row `z` of `V` logits: its maximum `m`, `Σ_v e^{z_v − m}` and `Σ_v z_v`, both sums in Double;
/// with `keeping`, the terms `e^{z_v − m}` are also stored there.
///
/// Subtracting the maximum keeps every term of the first sum in (0, 1]. Each sum runs in eight interleaved
/// Double partial sums (lane `j` takes `v ≡ j mod 8`), added by halves, then the tail of `V mod 8` in order.
private func shiftedExponentialAndPlainSums(
    _ z: UnsafePointer<Float>, count: Int, keeping exponentials: UnsafeMutablePointer<Float>?
) -> (maximum: Float, exponentials: Double, sum: Double) {
    let maximum = largestElement(z, count: count)
    let shift = SIMD8<Float>(repeating: maximum)
    var (totals, sums) = (SIMD8<Double>(), SIMD8<Double>())
    var v = 0
    while v + 8 <= count {
        let x = load8(z + v)
        let e = fastExp(x - shift)
        if let exponentials { store8(e, exponentials + v) }
        totals += SIMD8<Double>(e)
        sums += SIMD8<Double>(x)
        v += 8
    }
    var (total, sum) = (laneSum(totals), laneSum(sums))
    while v < count {
        let e = fastExp(z[v] - maximum)
        exponentials?[v] = e
        total += Double(e)
        sum += Double(z[v])
        v += 1
    }
    return (maximum, total, sum)
}

/// `x[v] = x[v]·scale − shift` for `v < count`.
private func scaleShift(_ x: UnsafeMutablePointer<Float>, count: Int, scale: Float, shift: Float) {
    let (s, c) = (SIMD8<Float>(repeating: scale), SIMD8<Float>(repeating: shift))
    var v = 0
    while v + 8 <= count {
        store8(load8(x + v) * s - c, x + v)
        v += 8
    }
    while v < count {
        x[v] = x[v] * scale - shift
        v += 1
    }
}

/// The sum of the lanes of `v`, by halves.
@inline(__always)
private func laneSum(_ v: SIMD8<Double>) -> Double {
    let h = v.lowHalf + v.highHalf
    return (h[0] + h[1]) + (h[2] + h[3])
}

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
/// (the smoothing weights sum to one, so `p` appears with coefficient 1).
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
    // Per counted row: log Σ e^z (saved for the backward), the loss and the nll.
    var logSumExp = [Float](repeating: 0, count: rows)
    var rowLoss = [Double](repeating: 0, count: rows)
    var rowNLL = [Double](repeating: 0, count: rows)
    logits.value.withUnsafeBufferPointer { pz in
        logSumExp.withUnsafeMutableBufferPointer { pl in
            rowLoss.withUnsafeMutableBufferPointer { ploss in
                rowNLL.withUnsafeMutableBufferPointer { pnll in
                    let (z, lse, loss, nll) = (pz.baseAddress!, pl.baseAddress!, ploss.baseAddress!, pnll.baseAddress!)
                    targets.withUnsafeBufferPointer { pt in
                        let t = pt.baseAddress!
                        Parallel.forEachRange(rows, work: rows * vocabulary * 8) { range in
                            for r in range {
                                // A skipped row needs nothing: the backward zeroes its gradient without lse.
                                guard t[r] != ignoredTarget else { continue }
                                let row = z + r * vocabulary
                                let (maximum, total, sum) = shiftedExponentialAndPlainSums(row, count: vocabulary)
                                let l = Double(maximum) + Foundation.log(total)
                                lse[r] = Float(l)
                                let rowNLL = l - Double(row[t[r]])
                                let smooth = Double(vocabulary) * l - sum
                                nll[r] = rowNLL
                                loss[r] = targetWeight * rowNLL + smoothingShare * smooth
                            }
                        }
                    }
                }
            }
        }
    }
    let counted = targets.filter { $0 != ignoredTarget }.count
    let tape = commonTape([logits], op: op)
    var y = makeOutput([], tape)
    y.withUnsafeMutableBufferPointer { $0[0] = Float(rowLoss.reduce(0, +)) }
    let logitsSlot = logits.gradientSlot
    let savedLogits = logits.value
    let loss = record(y, inputs: [logits], op: op) { dLoss, tape in
        let scale = dLoss.scalars[0]
        let (a, b) = (Float(targetWeight), Float(smoothingShare))
        tape.accumulateGradient(into: logitsSlot) { dZ, accumulate in
            savedLogits.withUnsafeBufferPointer { pz in
                logSumExp.withUnsafeBufferPointer { pl in
                    targets.withUnsafeBufferPointer { pt in
                        let (z, lse, t, d) = (pz.baseAddress!, pl.baseAddress!, pt.baseAddress!, dZ.baseAddress!)
                        Parallel.forEachRange(rows, work: rows * vocabulary * 8) { range in
                            for r in range {
                                let (row, out) = (z + r * vocabulary, d + r * vocabulary)
                                if t[r] == ignoredTarget {
                                    if !accumulate { out.update(repeating: 0, count: vocabulary) }
                                    continue
                                }
                                // p − ε_i over the row (a loop that vectorises), then the target's extra −(1 − ε − ε_i)
                                let (shift, target) = (lse[r], t[r])
                                if accumulate {
                                    for v in 0..<vocabulary { out[v] += scale * (fastExp(row[v] - shift) - b) }
                                } else {
                                    for v in 0..<vocabulary { out[v] = scale * (fastExp(row[v] - shift) - b) }
                                }
                                out[target] -= scale * a
                            }
                        }
                    }
                }
            }
        }
    }
    return (loss, rowNLL.reduce(0, +), counted)
}

/// For one row `z` of `V` logits: its maximum `m`, `Σ_v e^{z_v − m}` and `Σ_v z_v`, both sums in Double.
///
/// Subtracting the maximum keeps every term of the first sum in (0, 1]. Each sum runs in eight interleaved
/// Double partial sums (lane `j` takes `v ≡ j mod 8`), added by halves, then the tail of `V mod 8` in order.
private func shiftedExponentialAndPlainSums(
    _ z: UnsafePointer<Float>, count: Int
) -> (maximum: Float, exponentials: Double, sum: Double) {
    let maximum = largestElement(z, count: count)
    let shift = SIMD8<Float>(repeating: maximum)
    var (exponentials, sums) = (SIMD8<Double>(), SIMD8<Double>())
    var v = 0
    while v + 8 <= count {
        let x = load8(z + v)
        exponentials += SIMD8<Double>(fastExp(x - shift))
        sums += SIMD8<Double>(x)
        v += 8
    }
    var (total, sum) = (laneSum(exponentials), laneSum(sums))
    while v < count {
        total += Double(fastExp(z[v] - maximum))
        sum += Double(z[v])
        v += 1
    }
    return (maximum, total, sum)
}

/// The sum of the lanes of `v`, by halves.
@inline(__always)
private func laneSum(_ v: SIMD8<Double>) -> Double {
    let h = v.lowHalf + v.highHalf
    return (h[0] + h[1]) + (h[2] + h[3])
}

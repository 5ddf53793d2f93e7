// Matrix products through the one BLAS wrapper (Kernels/BLAS.swift), and Linear (x·Wᵀ + b).

/// Matrix product `op(a)·op(b)`, plain or batched.
///
/// Shapes: `a` is `[…, m, k]` (`[…, k, m]` when `transposeA`), `b` is `[…, k, n]` (`[…, n, k]` when
/// `transposeB`), the result `[…, m, n]`. The leading (batch) axes of `a` and `b` must be equal, or `b`
/// may be a single matrix shared by every batch item (then `transposeA` must be false).
///
/// Backward, for `C = A·B`: `dA += dC·Bᵀ`, `dB += Aᵀ·dC` (and the transposed variants).
/// - Precondition: the inner extents agree.
public func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
    let op = "matmul"
    precondition(a.shape.count >= 2 && b.shape.count >= 2, "\(op): \(a.shape) x \(b.shape) needs matrices")
    let sharedB = b.shape.count == 2 && a.shape.count > 2
    precondition(!(sharedB && transposeA), "\(op): a shared b needs transposeA == false")
    let batchShape = Array(a.shape.dropLast(2))
    precondition(
        sharedB || Array(b.shape.dropLast(2)) == batchShape,
        "\(op): batch axes of \(a.shape) and \(b.shape) differ")
    let (ar, ac) = (a.shape[a.shape.count - 2], a.shape[a.shape.count - 1])
    let (br, bc) = (b.shape[b.shape.count - 2], b.shape[b.shape.count - 1])
    let (m, k) = transposeA ? (ac, ar) : (ar, ac)
    let (kb, n) = transposeB ? (bc, br) : (br, bc)
    precondition(
        k == kb,
        "\(op): \(a.shape)\(transposeA ? "ᵀ" : "") x \(b.shape)\(transposeB ? "ᵀ" : ""): inner extents \(k) and \(kb) differ")
    // A shared b: fold the batch into the rows of one product.
    let batch = sharedB ? 1 : batchShape.reduce(1, *)
    let rows = sharedB ? batchShape.reduce(1, *) * m : m
    let strideB = sharedB ? 0 : k * n

    let tape = commonTape([a, b], op: op)
    var c = makeOutput(batchShape + [m, n], tape)
    a.value.withUnsafeBufferPointer { pa in
        b.value.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { pc in
                batchedGemm(
                    batch: batch, transposeA: transposeA, transposeB: transposeB, m: rows, n: n, k: k,
                    a: pa.baseAddress!, strideA: rows * k, b: pb.baseAddress!, strideB: strideB,
                    c: pc.baseAddress!, strideC: rows * n)
            }
        }
    }
    let (aSlot, bSlot) = (a.gradientSlot, b.gradientSlot)
    let savedA = bSlot != nil ? a.value : nil
    let savedB = aSlot != nil ? b.value : nil
    return record(c, inputs: [a, b], op: op) { dC, tape in
        tape.accumulateGradient(into: aSlot) { dA, accumulate in
            dC.withUnsafeBufferPointer { g in
                savedB!.withUnsafeBufferPointer { pb in
                    let beta: Float = accumulate ? 1 : 0
                    if transposeA {
                        // A is [k, m]: dA = op(B)·dCᵀ
                        batchedGemm(
                            batch: batch, transposeA: transposeB, transposeB: true, m: k, n: m, k: n,
                            a: pb.baseAddress!, strideA: strideB, b: g.baseAddress!, strideB: m * n,
                            beta: beta, c: dA.baseAddress!, strideC: k * m)
                    } else {
                        // dA = dC·op(B)ᵀ
                        batchedGemm(
                            batch: batch, transposeA: false, transposeB: !transposeB, m: rows, n: k, k: n,
                            a: g.baseAddress!, strideA: rows * n, b: pb.baseAddress!, strideB: strideB,
                            beta: beta, c: dA.baseAddress!, strideC: rows * k)
                    }
                }
            }
        }
        tape.accumulateGradient(into: bSlot) { dB, accumulate in
            dC.withUnsafeBufferPointer { g in
                savedA!.withUnsafeBufferPointer { pa in
                    // With a shared b every batch item adds into the one dB: batch == 1 after folding.
                    let beta: Float = accumulate ? 1 : 0
                    if transposeB {
                        // B is [n, k]: dB = dCᵀ·op(A)
                        batchedGemm(
                            batch: batch, transposeA: true, transposeB: transposeA, m: n, n: k, k: rows,
                            a: g.baseAddress!, strideA: rows * n, b: pa.baseAddress!, strideB: rows * k,
                            beta: beta, c: dB.baseAddress!, strideC: n * k)
                    } else {
                        // dB = op(A)ᵀ·dC
                        batchedGemm(
                            batch: batch, transposeA: !transposeA, transposeB: false, m: k, n: n, k: rows,
                            a: pa.baseAddress!, strideA: rows * k, b: g.baseAddress!, strideB: rows * n,
                            beta: beta, c: dB.baseAddress!, strideC: k * n)
                    }
                }
            }
        }
    }
}

/// An affine map with PyTorch's weight layout: `y = x·Wᵀ + b`.
///
/// Shapes: `x` `[…, in]`, `weight` `[out, in]`, `bias` `[out]`, result `[…, out]`.
/// Backward: `dx += dy·W`, `dW += dyᵀ·x` (over all rows), `db += Σ_rows dy`.
/// - Precondition: `x`'s last extent equals `in`.
public func linear(_ x: Variable, weight: Variable, bias: Variable? = nil) -> Variable {
    let op = "linear"
    precondition(weight.shape.count == 2, "\(op): weight \(weight.shape) is not a matrix")
    let (outputs, inputs) = (weight.shape[0], weight.shape[1])
    precondition(x.shape.last == inputs, "\(op): x \(x.shape) for weight \(weight.shape) ([out, in])")
    if let bias { precondition(bias.shape == [outputs], "\(op): bias \(bias.shape) for weight \(weight.shape)") }
    let rows = x.value.count / max(inputs, 1)
    let all = [x, weight] + (bias.map { [$0] } ?? [])
    let tape = commonTape(all, op: op)
    var y = makeOutput(Array(x.shape.dropLast()) + [outputs], tape)
    x.value.withUnsafeBufferPointer { px in
        weight.value.withUnsafeBufferPointer { pw in
            y.withUnsafeMutableBufferPointer { py in
                let py = py.baseAddress!
                if let bias {
                    // Start from the bias rows and let the product add to them (beta = 1): one pass over y,
                    // where a product with beta = 0 followed by a bias add would take two.
                    bias.value.withUnsafeBufferPointer { pb in
                        let b = pb.baseAddress!
                        Parallel.forEachRange(rows, work: rows * outputs) { range in
                            for r in range { (py + r * outputs).update(from: b, count: outputs) }
                        }
                    }
                }
                // [rows, in] x [out, in]ᵀ -> [rows, out]
                gemm(
                    transposeB: true, m: rows, n: outputs, k: inputs, a: px.baseAddress!, b: pw.baseAddress!,
                    beta: bias == nil ? 0 : 1, c: py)
            }
        }
    }
    let (xSlot, wSlot, bSlot) = (x.gradientSlot, weight.gradientSlot, bias?.gradientSlot)
    let savedX = wSlot != nil ? x.value : nil
    let savedW = xSlot != nil ? weight.value : nil
    return record(y, inputs: all, op: op) { dY, tape in
        dY.withUnsafeBufferPointer { g in
            // The bias first: its column sums are a pass over dY alone, memory-bound, and dY was just written,
            // so part of it is still in cache (the products after it stream dY through their own packing).
            tape.accumulateGradient(into: bSlot) { dB, accumulate in
                columnSumKernel(dB.baseAddress!, accumulate: accumulate, g.baseAddress!, rows: rows, columns: outputs)
            }
            tape.accumulateGradient(into: xSlot) { dX, accumulate in
                savedW!.withUnsafeBufferPointer { pw in
                    // [rows, out] x [out, in] -> [rows, in]
                    gemm(m: rows, n: inputs, k: outputs, a: g.baseAddress!, b: pw.baseAddress!, beta: accumulate ? 1 : 0, c: dX.baseAddress!)
                }
            }
            tape.accumulateGradient(into: wSlot) { dW, accumulate in
                savedX!.withUnsafeBufferPointer { px in
                    // [rows, out]ᵀ x [rows, in] -> [out, in]
                    gemm(transposeA: true, m: outputs, n: inputs, k: rows, a: g.baseAddress!, b: px.baseAddress!, beta: accumulate ? 1 : 0, c: dW.baseAddress!)
                }
            }
        }
    }
}

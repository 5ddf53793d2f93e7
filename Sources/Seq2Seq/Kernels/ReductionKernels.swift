// Reductions along one axis of a `[outer, extent, inner]` view, and prefix sums.

/// `y[o, i] (+)= Σ_t x[o, t, i]`, summed in order of `t`.
func axisSumKernel(
    _ y: UnsafeMutablePointer<Float>, accumulate: Bool, _ x: UnsafePointer<Float>, outer: Int, extent: Int, inner: Int
) {
    if outer < Parallel.threadCount {
        for o in 0..<outer {
            columnSumKernel(y + o * inner, accumulate: accumulate, x + o * extent * inner, rows: extent, columns: inner)
        }
        return
    }
    Parallel.forEachRange(outer, work: outer * extent * inner) { range in
        for o in range {
            let target = y + o * inner
            if !accumulate { target.update(repeating: 0, count: inner) }
            for t in 0..<extent {
                let source = x + (o * extent + t) * inner
                for i in 0..<inner { target[i] += source[i] }
            }
        }
    }
}

/// `x[o, t, i] (+)= alpha·g[o, i]` for every `t`: the backward of a sum (alpha 1) or mean (1/extent).
func axisBroadcastKernel(
    _ x: UnsafeMutablePointer<Float>, accumulate: Bool, _ g: UnsafePointer<Float>, alpha: Float, outer: Int, extent: Int, inner: Int
) {
    Parallel.forEachRange(outer * extent, work: outer * extent * inner) { range in
        for row in range {
            let source = g + (row / extent) * inner
            let target = x + row * inner
            if accumulate {
                for i in 0..<inner { target[i] += alpha * source[i] }
            } else {
                for i in 0..<inner { target[i] = alpha * source[i] }
            }
        }
    }
}

/// Inclusive prefix sums along the middle axis: `y[o, t, i] (+)= Σ_{s ≤ t} x[o, s, i]`, or the suffix sums
/// `Σ_{s ≥ t}` when `reverse` (the backward of a prefix sum).
func cumulativeSumKernel(
    _ y: UnsafeMutablePointer<Float>, accumulate: Bool, _ x: UnsafePointer<Float>, outer: Int, extent: Int, inner: Int, reverse: Bool
) {
    Parallel.forEachRange(outer, work: outer * extent * inner) { range in
        var running = [Float](repeating: 0, count: inner)
        for o in range {
            for i in 0..<inner { running[i] = 0 }
            for step in 0..<extent {
                let t = reverse ? extent - 1 - step : step
                let offset = (o * extent + t) * inner
                for i in 0..<inner {
                    running[i] += x[offset + i]
                    y[offset + i] = accumulate ? y[offset + i] + running[i] : running[i]
                }
            }
        }
    }
}

/// `Σ x` over all elements, in Double, by fixed blocks summed in order (independent of the thread count).
func totalSumKernel(_ x: UnsafePointer<Float>, count: Int) -> Double {
    let block = 1 << 16
    let blocks = (count + block - 1) / block
    var partials = [Double](repeating: 0, count: blocks)
    partials.withUnsafeMutableBufferPointer { partials in
        let p = partials.baseAddress!
        Parallel.forEachRange(blocks, work: count) { range in
            for b in range {
                var sum: Double = 0
                for i in (b * block)..<min(count, (b + 1) * block) { sum += Double(x[i]) }
                p[b] = sum
            }
        }
    }
    return partials.reduce(0, +)
}

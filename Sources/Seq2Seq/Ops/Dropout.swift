/// Inverted dropout: each element is zeroed with probability `p`, the rest scaled by `1/(1 − p)`.
///
/// Identity (and free) when `p == 0`, when `x` is on no tape, or when the tape is not training. The mask
/// of element `i` is a hash of `(seed, i)` (counter-based), so it does not depend on the thread count and
/// the backward regenerates it from the seed instead of saving it. The seed comes from the tape's stream.
/// Backward: `dx += dy ⊙ mask / (1 − p)`.
/// - Precondition: `0 ≤ p < 1`.
public func dropout(_ x: Variable, probability p: Float) -> Variable {
    precondition(p >= 0 && p < 1, "dropout: probability \(p) outside [0, 1)")
    guard p > 0, let tape = x.tape, tape.isTraining else { return x }
    let seed = tape.nextSeed()
    var y = makeOutput(x.shape, tape)
    x.value.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in
            dropoutKernel(py.baseAddress!, accumulate: false, px.baseAddress!, count: px.count, probability: p, seed: seed)
        }
    }
    let xSlot = x.gradientSlot
    return record(y, inputs: [x], op: "dropout") { dY, tape in
        tape.accumulateGradient(into: xSlot) { dX, accumulate in
            dY.withUnsafeBufferPointer {
                dropoutKernel(dX.baseAddress!, accumulate: accumulate, $0.baseAddress!, count: dX.count, probability: p, seed: seed)
            }
        }
    }
}

/// `y[i] (+)= keep(seed, i) ? x[i]/(1 − p) : 0`. One 32-bit hash of `(seed, i/2)` (two rounds of Wellons'
/// `lowbias32`, keyed by the halves of the seed) gives the 16-bit draws of elements `i` and `i + 1`; an
/// element is kept when its draw, as a fraction of 2¹⁶, is at least `p`. 32-bit arithmetic and branch-free
/// masks let the loop vectorise.
func dropoutKernel(
    _ y: UnsafeMutablePointer<Float>, accumulate: Bool, _ x: UnsafePointer<Float>, count: Int, probability p: Float, seed: UInt64
) {
    let scale = 1 / (1 - p)
    let threshold = Int32(Double(p) * 65536)
    let (low, high) = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
    @inline(__always) func mix(_ value: UInt32) -> UInt32 {
        var h = value
        h ^= h >> 16
        h &*= 0x7FEB_352D
        h ^= h >> 15
        h &*= 0x846C_A68B
        h ^= h >> 16
        return h
    }
    // All ones when the draw is ≥ threshold (the sign bit of draw − threshold), zero otherwise.
    @inline(__always) func keep(_ draw: UInt32) -> UInt32 { ~UInt32(bitPattern: (Int32(bitPattern: draw) &- threshold) >> 31) }
    @inline(__always) func apply(_ value: Float, _ mask: UInt32) -> Float { Float(bitPattern: (value * scale).bitPattern & mask) }
    let pairs = count / 2
    Parallel.forEachRange(pairs, work: count * 4) { range in
        for j in range {
            let h = mix(mix(UInt32(truncatingIfNeeded: j) ^ low) ^ high)
            let (a, b) = (apply(x[2 * j], keep(h & 0xFFFF)), apply(x[2 * j + 1], keep(h >> 16)))
            if accumulate {
                y[2 * j] += a
                y[2 * j + 1] += b
            } else {
                y[2 * j] = a
                y[2 * j + 1] = b
            }
        }
    }
    if count % 2 == 1 {
        let value = apply(x[count - 1], keep(mix(mix(UInt32(truncatingIfNeeded: pairs) ^ low) ^ high) & 0xFFFF))
        y[count - 1] = accumulate ? y[count - 1] + value : value
    }
}

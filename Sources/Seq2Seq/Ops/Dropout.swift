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

/// `y[i] (+)= keep(seed, i) ? x[i]/(1 − p) : 0`, with `keep` true when the top 24 bits of a 32-bit hash of
/// `(seed, i)` (two rounds of Wellons' `lowbias32`, keyed by the two halves of the seed) as a fraction in
/// [0, 1) are at least `p`. 32-bit arithmetic and a branch-free select let the loop vectorise.
func dropoutKernel(
    _ y: UnsafeMutablePointer<Float>, accumulate: Bool, _ x: UnsafePointer<Float>, count: Int, probability p: Float, seed: UInt64
) {
    let scale = 1 / (1 - p)
    let threshold = UInt32(Double(p) * 16_777_216)
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
    Parallel.forEachRange(count, work: count * 4) { range in
        for i in range {
            let bits = mix(mix(UInt32(truncatingIfNeeded: i) ^ low) ^ high) >> 8
            let v = x[i] * (bits >= threshold ? scale : 0)
            y[i] = accumulate ? y[i] + v : v
        }
    }
}

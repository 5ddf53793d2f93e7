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

/// `y[i] (+)= keep(seed, i) ? x[i]/(1 − p) : 0`, with `keep` true when the top 24 bits of
/// `SplitMix64.mix(seed ⊕ i·φ)` as a fraction in [0, 1) are at least `p`.
func dropoutKernel(
    _ y: UnsafeMutablePointer<Float>, accumulate: Bool, _ x: UnsafePointer<Float>, count: Int, probability p: Float, seed: UInt64
) {
    let scale = 1 / (1 - p)
    let threshold = UInt64(Double(p) * 16_777_216)
    Parallel.forEachRange(count, work: count * 4) { range in
        for i in range {
            let bits = SplitMix64.mix(seed ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15)) >> 40
            let v = bits >= threshold ? x[i] * scale : 0
            y[i] = accumulate ? y[i] + v : v
        }
    }
}

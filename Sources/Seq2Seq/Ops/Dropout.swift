/// Inverted dropout: each element is zeroed with probability `p`, the rest scaled by `1/(1 − p)`.
///
/// Identity (and free) when `p == 0`, when `x` is on no tape, or when the tape is not training. The mask
/// of element `i` is a hash of `(seed, i)` (counter-based), so it does not depend on the thread count. The
/// seed comes from the tape's stream. The forward keeps the mask as one byte per element for the backward
/// (a pool buffer, a quarter of `x`'s size): reading it costs less than hashing again.
/// Backward: `dx += dy ⊙ mask / (1 − p)`.
/// - Precondition: `0 ≤ p < 1`.
public func dropout(_ x: Variable, probability p: Float) -> Variable {
    precondition(p >= 0 && p < 1, "dropout: probability \(p) outside [0, 1)")
    guard p > 0, let tape = x.tape, tape.isTraining else { return x }
    let seed = tape.nextSeed()
    let count = x.value.count
    var y = makeOutput(x.shape, tape)
    let xSlot = x.gradientSlot
    // Bytes in a Float buffer, so that they come from (and go back to) the tape's pool.
    var mask = xSlot == nil ? Tensor(zeros: [0]) : tape.allocate([max(1, (count + 3) / 4)])
    x.value.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in
            mask.withUnsafeMutableBufferPointer { pm in
                dropoutKernel(
                    py.baseAddress!, accumulate: false, px.baseAddress!, count: count, probability: p, seed: seed,
                    keptBytes: xSlot == nil ? nil : UnsafeMutableRawPointer(pm.baseAddress!))
            }
        }
    }
    return record(y, inputs: [x], op: "dropout") { dY, tape in
        tape.accumulateGradient(into: xSlot) { dX, accumulate in
            dY.withUnsafeBufferPointer { g in
                mask.withUnsafeBufferPointer { pm in
                    maskedScaleKernel(
                        dX.baseAddress!, accumulate: accumulate, g.baseAddress!, keptBytes: UnsafeRawPointer(pm.baseAddress!),
                        scale: 1 / (1 - p), count: count)
                }
            }
        }
        tape.pool.recycle(mask.scalars)
    }
}

/// `y[i] (+)= kept[i] ? x[i]·scale : 0`, with `kept` one byte per element (all ones: kept, zero: dropped), as
/// ``dropoutKernel(_:accumulate:_:count:probability:seed:keptBytes:)`` writes it.
func maskedScaleKernel(
    _ y: UnsafeMutablePointer<Float>, accumulate: Bool, _ x: UnsafePointer<Float>, keptBytes kept: UnsafeRawPointer,
    scale: Float, count: Int
) {
    // Sign extension turns each byte into a 32-bit mask; plain loops, which vectorise.
    @inline(__always) func value(_ i: Int) -> Float {
        Float(bitPattern: (x[i] * scale).bitPattern & UInt32(bitPattern: Int32(kept.load(fromByteOffset: i, as: Int8.self))))
    }
    Parallel.forEachRange(count, work: count) { range in
        if accumulate {
            for i in range { y[i] += value(i) }
        } else {
            for i in range { y[i] = value(i) }
        }
    }
}

/// `y[i] (+)= keep(seed, i) ? x[i]/(1 − p) : 0`. One 32-bit hash of `(seed, i/2)` (two rounds of Wellons'
/// `lowbias32`, keyed by the halves of the seed) gives the 16-bit draws of elements `i` and `i + 1`; an
/// element is kept when its draw, as a fraction of 2¹⁶, is at least `p`. The main loop hashes eight pairs
/// at once with the same 32-bit operations (so the same masks as one pair at a time) and applies them to
/// sixteen elements with branch-free bit masks.
///
/// With `keptBytes`, the mask is also written there, one byte per element (all ones: kept).
func dropoutKernel(
    _ y: UnsafeMutablePointer<Float>, accumulate: Bool, _ x: UnsafePointer<Float>, count: Int, probability p: Float, seed: UInt64,
    keptBytes: UnsafeMutableRawPointer? = nil
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
    @inline(__always) func mix(_ value: SIMD8<UInt32>) -> SIMD8<UInt32> {
        var h = value
        h ^= h &>> 16
        h &*= 0x7FEB_352D
        h ^= h &>> 15
        h &*= 0x846C_A68B
        h ^= h &>> 16
        return h
    }
    // All ones when the draw is ≥ threshold (the sign bit of draw − threshold), zero otherwise.
    @inline(__always) func keep(_ draw: UInt32) -> UInt32 { ~UInt32(bitPattern: (Int32(bitPattern: draw) &- threshold) >> 31) }
    @inline(__always) func keep(_ draw: SIMD8<UInt32>) -> SIMD8<UInt32> {
        ~SIMD8<UInt32>(truncatingIfNeeded: (SIMD8<Int32>(truncatingIfNeeded: draw) &- threshold) &>> 31)
    }
    @inline(__always) func apply(_ value: Float, _ mask: UInt32) -> Float { Float(bitPattern: (value * scale).bitPattern & mask) }
    let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)
    let pairs = count / 2
    Parallel.forEachRange(pairs, work: count * 4) { range in
        var j = range.lowerBound
        while j + 8 <= range.upperBound {
            // Pairs j ..< j + 8, elements 2j ..< 2j + 16.
            let h = mix(mix((SIMD8(repeating: UInt32(truncatingIfNeeded: j)) &+ lanes) ^ low) ^ high)
            // 64-bit lane k holds the masks of elements 2(j + k) (low half, first in memory) and 2(j + k) + 1.
            let pairMasks = SIMD8<UInt64>(truncatingIfNeeded: keep(h & 0xFFFF)) | SIMD8<UInt64>(truncatingIfNeeded: keep(h &>> 16)) &<< 32
            let masks = unsafeBitCast(pairMasks, to: SIMD16<UInt32>.self)
            keptBytes?.storeBytes(of: SIMD16<Int8>(truncatingIfNeeded: masks), toByteOffset: 2 * j, as: SIMD16<Int8>.self)
            let scaled = UnsafeRawPointer(x + 2 * j).loadUnaligned(as: SIMD16<Float>.self) * scale
            var values = unsafeBitCast(unsafeBitCast(scaled, to: SIMD16<UInt32>.self) & masks, to: SIMD16<Float>.self)
            let out = UnsafeMutableRawPointer(y + 2 * j)
            if accumulate { values += out.loadUnaligned(as: SIMD16<Float>.self) }
            out.storeBytes(of: values, as: SIMD16<Float>.self)
            j += 8
        }
        while j < range.upperBound {
            let h = mix(mix(UInt32(truncatingIfNeeded: j) ^ low) ^ high)
            let (keepA, keepB) = (keep(h & 0xFFFF), keep(h >> 16))
            let (a, b) = (apply(x[2 * j], keepA), apply(x[2 * j + 1], keepB))
            keptBytes?.storeBytes(of: Int8(truncatingIfNeeded: keepA), toByteOffset: 2 * j, as: Int8.self)
            keptBytes?.storeBytes(of: Int8(truncatingIfNeeded: keepB), toByteOffset: 2 * j + 1, as: Int8.self)
            y[2 * j] = accumulate ? y[2 * j] + a : a
            y[2 * j + 1] = accumulate ? y[2 * j + 1] + b : b
            j += 1
        }
    }
    if count % 2 == 1 {
        let kept = keep(mix(mix(UInt32(truncatingIfNeeded: pairs) ^ low) ^ high) & 0xFFFF)
        let value = apply(x[count - 1], kept)
        y[count - 1] = accumulate ? y[count - 1] + value : value
        keptBytes?.storeBytes(of: Int8(truncatingIfNeeded: kept), toByteOffset: count - 1, as: Int8.self)
    }
}

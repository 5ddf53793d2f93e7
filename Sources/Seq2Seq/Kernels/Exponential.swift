/// `eˣ` in Float32 with plain arithmetic, so that loops calling it vectorise (the libm call does not).
///
/// Reference: the Cephes `expf` scheme (S. Moshier): `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, `eʳ` by a
/// degree-6 polynomial, times `2ⁿ` built from the exponent bits. Relative error below 3e-7 on
/// `[−87, 88]` (tested against Foundation's `exp`); inputs below −87.3 give about 1e-38 instead of
/// underflowing to 0, inputs above 88.37 are clamped to it (callers subtract a row maximum first).
@inline(__always)
func fastExp(_ x: Float) -> Float {
    let clamped = min(max(x, -87.33), 88.37)  // keeps n in [−126, 127]: a normal 2ⁿ
    // n = round(x / ln 2), by the 1.5·2²³ trick (round to nearest without a rounding instruction)
    let shifted = clamped * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    let r = clamped - n * 0.693_359_375 + n * 2.121_944_4e-4  // ln 2 split in two for precision
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_1e-1
    let er = p * r * r + r + 1
    let exponent = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000  // n as an integer
    return er * Float(bitPattern: UInt32(bitPattern: (exponent &+ 127) << 23))
}

/// ``fastExp(_:)`` on eight lanes, with the same operations in the same order (so the same bits per lane).
@inline(__always)
func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let (low, high) = (SIMD8<Float>(repeating: -87.33), SIMD8<Float>(repeating: 88.37))
    var clamped = x.replacing(with: low, where: x .< low)
    clamped = clamped.replacing(with: high, where: clamped .> high)
    let shifted = clamped * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    let r = clamped - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_1e-1
    let er = p * r * r + r + 1
    let exponent = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    return er * unsafeBitCast((exponent &+ 127) &<< 23, to: SIMD8<Float>.self)
}

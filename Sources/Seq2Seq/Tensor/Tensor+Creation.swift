import Foundation

/// A small, fast, seedable generator (SplitMix64). Deterministic across platforms and runs.
///
/// Reference: Steele, Lea, Flood, "Fast splittable pseudorandom number generators" (2014).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 finaliser: a bijective hash of 64 bits, used for counter-based random streams.
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// A standard normal sample (Box–Muller).
    public mutating func nextNormal() -> Float {
        let u1 = max(Double(next() >> 11) * 0x1p-53, Double.leastNonzeroMagnitude)
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

extension Tensor {
    /// Elements drawn uniformly from `[low, high)`.
    public static func uniform(
        _ shape: [Int], low: Float = 0, high: Float = 1, generator: inout SplitMix64
    ) -> Tensor {
        let count = shape.reduce(1, *)
        var scalars = [Float](repeating: 0, count: count)
        for i in 0..<count { scalars[i] = low + (high - low) * generator.nextUniform() }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// Elements drawn from N(mean, standardDeviation²).
    public static func normal(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, generator: inout SplitMix64
    ) -> Tensor {
        let count = shape.reduce(1, *)
        var scalars = [Float](repeating: 0, count: count)
        for i in 0..<count { scalars[i] = mean + standardDeviation * generator.nextNormal() }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// `[0, 1, …, count-1]` as Floats, shape `[count]`.
    public static func arange(_ count: Int) -> Tensor {
        Tensor(shape: [count], scalars: (0..<count).map(Float.init))
    }

    /// A `[rows, columns]` mask with 1 above the diagonal (future positions) and 0 elsewhere:
    /// the causal mask for ``softmax(_:mask:)``.
    public static func causalMask(_ size: Int) -> Tensor {
        var mask = Tensor(zeros: [size, size])
        for i in 0..<size { for j in (i + 1)..<max(size, i + 1) { mask.scalars[i * size + j] = 1 } }
        return mask
    }

    /// A `[B, N]` padding mask: 1 at positions `j >= lengths[b]`, 0 elsewhere.
    public static func paddingMask(lengths: [Int], maximumLength: Int) -> Tensor {
        var mask = Tensor(zeros: [lengths.count, maximumLength])
        for (b, length) in lengths.enumerated() {
            for j in min(length, maximumLength)..<maximumLength { mask.scalars[b * maximumLength + j] = 1 }
        }
        return mask
    }
}

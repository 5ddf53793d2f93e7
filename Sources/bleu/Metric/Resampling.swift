// Reference: mjpost/sacrebleu 2.6.0, sacrebleu/significance.py (_bootstrap_resample,
// _paired_bs_test, estimate_ci) and sacrebleu/metrics/base.py (Score.estimate_ci); numpy 2.x
// `default_rng` (SeedSequence, PCG64) and `Generator.integers` (Lemire's bounded method).
import Foundation

/// numpy's `np.random.default_rng(seed)`, bit for bit: a PCG64 (XSL-RR, 128-bit LCG) generator
/// seeded through `SeedSequence`, so bootstrap resamples pick the same segments as sacreBLEU's.
public struct NumpyRandom: Sendable {
    private var state: UInt128
    private let increment: UInt128
    private var bufferedHalf: UInt32?

    private static let multiplier: UInt128 = UInt128(2_549_297_995_355_413_924) << 64 | 4_865_540_595_714_422_341

    /// `default_rng(seed)` for a non-negative integer seed (sacreBLEU's default is 12345).
    public init(seed: UInt64) {
        // SeedSequence: the seed as little-endian 32-bit words, hashed into a pool of four.
        var entropy: [UInt32] = [UInt32(truncatingIfNeeded: seed)]
        if seed >> 32 != 0 { entropy.append(UInt32(truncatingIfNeeded: seed >> 32)) }
        var hashConstant: UInt32 = 0x43B0_D7E5
        func hashmix(_ value: UInt32) -> UInt32 {
            var value = value ^ hashConstant
            hashConstant = hashConstant &* 0x931E_8875
            value = value &* hashConstant
            return value ^ (value >> 16)
        }
        func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
            let result = 0xCA01_F9DD &* x &- 0x4973_F715 &* y
            return result ^ (result >> 16)
        }
        var pool = [UInt32](repeating: 0, count: 4)
        for i in 0..<4 { pool[i] = hashmix(i < entropy.count ? entropy[i] : 0) }
        for source in 0..<4 {
            for destination in 0..<4 where source != destination {
                pool[destination] = mix(pool[destination], hashmix(pool[source]))
            }
        }
        for source in 4..<max(4, entropy.count) {
            for destination in 0..<4 { pool[destination] = mix(pool[destination], hashmix(entropy[source])) }
        }
        // generate_state(4, uint64): eight 32-bit words, paired little-endian.
        var generatorConstant: UInt32 = 0x8B51_F9DD
        var words = [UInt64](repeating: 0, count: 4)
        for i in 0..<8 {
            var value = pool[i % 4] ^ generatorConstant
            generatorConstant = generatorConstant &* 0x58F3_8DED
            value = value &* generatorConstant
            value ^= value >> 16
            words[i / 2] |= UInt64(value) << (32 * UInt64(i % 2))
        }
        // pcg64_set_seed: state = words[0..1], sequence = words[2..3] (high word first).
        let initialState = UInt128(words[0]) << 64 | UInt128(words[1])
        let sequence = UInt128(words[2]) << 64 | UInt128(words[3])
        increment = sequence << 1 | 1
        state = 0
        state = state &* Self.multiplier &+ increment
        state = state &+ initialState
        state = state &* Self.multiplier &+ increment
    }

    /// The next raw 64-bit output (`bit_generator.random_raw()`).
    public mutating func nextUInt64() -> UInt64 {
        state = state &* Self.multiplier &+ increment
        let folded = UInt64(truncatingIfNeeded: state >> 64) ^ UInt64(truncatingIfNeeded: state)
        let rotation = UInt64(truncatingIfNeeded: state >> 122)
        return folded >> rotation | folded << ((64 &- rotation) & 63)
    }

    /// numpy's `next_uint32`: the low half of a 64-bit output, then its high half.
    public mutating func nextUInt32() -> UInt32 {
        if let half = bufferedHalf {
            bufferedHalf = nil
            return half
        }
        let next = nextUInt64()
        bufferedHalf = UInt32(truncatingIfNeeded: next >> 32)
        return UInt32(truncatingIfNeeded: next)
    }

    /// `Generator.integers(0, upperBound)`: uniform in `0..<upperBound` by Lemire's method, as
    /// numpy draws for ranges that fit 32 bits.
    public mutating func integer(below upperBound: Int) -> Int {
        precondition(upperBound >= 1 && upperBound <= 1 << 32, "integer(below: \(upperBound))")
        let range = UInt32(upperBound - 1)
        if range == 0 { return 0 }
        if range == UInt32.max { return Int(nextUInt32()) }
        let exclusive = UInt64(range) + 1
        var m = UInt64(nextUInt32()) * exclusive
        var leftover = UInt32(truncatingIfNeeded: m)
        if UInt64(leftover) < exclusive {
            let threshold = UInt32((UInt64(UInt32.max) - UInt64(range)) % exclusive)
            while leftover < threshold {
                m = UInt64(nextUInt32()) * exclusive
                leftover = UInt32(truncatingIfNeeded: m)
            }
        }
        return Int(m >> 32)
    }
}

/// Bootstrap resampling as sacreBLEU does it: 95% confidence intervals (`-ci`) and the paired
/// bootstrap test (`--paired-bs`), with numpy's generator seeded as sacreBLEU seeds it.
public enum Resampling {
    /// sacreBLEU's default seed (`SACREBLEU_SEED`).
    public static let defaultSeed: UInt64 = 12345

    /// `rng.choice(count, size=(samples, count))` from `default_rng(seed)`: `samples` rows of
    /// `count` segment indices drawn with replacement.
    public static func indices(count: Int, samples: Int, seed: UInt64) -> [Int32] {
        var random = NumpyRandom(seed: seed)
        var result = [Int32](repeating: 0, count: count * samples)
        for k in 0..<result.count { result[k] = Int32(random.integer(below: count)) }
        return result
    }

    /// The score of each resample: segment statistics (`stride` integers a segment) summed over
    /// a row of `indices` and scored by `score`, which gets the sums as float32, as numpy holds
    /// them.
    public static func scores(
        segments: [Int], stride: Int, indices: [Int32], samples: Int,
        score: @escaping @Sendable ([Float]) -> Double
    ) -> [Double] {
        let count = segments.count / stride
        var result = [Double](repeating: 0, count: samples)
        result.withUnsafeMutableBufferPointer { buffer in
            let output = SendableBuffer(buffer)
            parallelChunks(count: samples * 512, threads: nil) { range in
                // Chunks of whole samples (the 512 factor only spreads small sample counts).
                let first = range.lowerBound / 512
                let last = range.upperBound / 512
                var sums = [Int](repeating: 0, count: stride)
                for sample in first..<last {
                    for k in 0..<stride { sums[k] = 0 }
                    segments.withUnsafeBufferPointer { s in
                        indices.withUnsafeBufferPointer { ix in
                            let row = sample * count
                            for i in 0..<count {
                                let base = Int(ix[row + i]) * stride
                                for k in 0..<stride { sums[k] += s[base + k] }
                            }
                        }
                    }
                    output.buffer[sample] = score(sums.map { Float($0) })
                }
            }
        }
        return result
    }

    /// `Score.estimate_ci` (single-system `-ci`): the exact mean (Python's `statistics.mean`) and
    /// half the spread of the central 95% (the n/40-th smallest to the n/40-th largest).
    public static func confidence(_ scores: [Double]) -> (mean: Double, halfWidth: Double) {
        let sorted = scores.sorted()
        return (exactMean(sorted), halfWidth(sorted))
    }

    /// `significance.estimate_ci` (paired tests): as `confidence`, with numpy's mean (pairwise sum).
    public static func numpyConfidence(_ scores: [Double]) -> (mean: Double, halfWidth: Double) {
        let sorted = scores.sorted()
        return (numpyMean(sorted), halfWidth(sorted))
    }

    private static func halfWidth(_ sorted: [Double]) -> Double {
        let lower = sorted.count / 40
        let upper = sorted.count - lower - 1
        return 0.5 * (sorted[upper] - sorted[lower])
    }

    /// numpy's `mean` of a contiguous float64 array: pairwise summation, then division.
    static func numpyMean(_ values: [Double]) -> Double {
        values.withUnsafeBufferPointer { pairwiseSum($0) } / Double(values.count)
    }

    /// numpy's `pairwise_sum` (blocks of 128, eight accumulators).
    static func pairwiseSum(_ a: UnsafeBufferPointer<Double>) -> Double {
        let n = a.count
        if n < 8 {
            var result = 0.0
            for x in a { result += x }
            return result
        } else if n <= 128 {
            var r = Array(a[0..<8])
            var i = 8
            while i < n - n % 8 {
                for j in 0..<8 { r[j] += a[i + j] }
                i += 8
            }
            var result = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n {
                result += a[i]
                i += 1
            }
            return result
        }
        var half = n / 2
        half -= half % 8
        return pairwiseSum(UnsafeBufferPointer(rebasing: a[0..<half]))
            + pairwiseSum(UnsafeBufferPointer(rebasing: a[half...]))
    }

    /// The mean of doubles rounded once from the exact sum, as `statistics.mean` computes it
    /// with fractions: an exact running sum (Shewchuk's non-overlapping partials, as `math.fsum`),
    /// then one correctly rounded division.
    static func exactMean(_ values: [Double]) -> Double {
        var partials: [Double] = []
        for value in values {
            var x = value
            var kept = 0
            for y in partials {
                let high = x + y
                let low = abs(x) < abs(y) ? x - (high - y) : y - (high - x)
                if low != 0 {
                    partials[kept] = low
                    kept += 1
                }
                x = high
            }
            partials.removeSubrange(kept...)
            partials.append(x)
        }
        // The exact sum as high + low (two-sum from the largest partial down), then one
        // division with the remainder folded back in.
        var high = 0.0
        var low = 0.0
        for p in partials.reversed() {
            let sum = high + p
            let virtual = sum - high
            low += (high - (sum - virtual)) + (p - virtual)
            high = sum
        }
        let count = Double(values.count)
        let quotient = high / count
        let remainder = high.addingProduct(-quotient, count)  // exactly high - quotient·count
        return quotient + (remainder + low) / count
    }

    /// The paired bootstrap test of one system against the baseline (`_paired_bs_test`).
    ///
    /// - Returns: the system's bootstrap mean and 95% half-width, and the p-value
    ///   `(c + 1) / (samples + 1)`, where c counts resamples whose centred absolute difference
    ///   exceeds the actual absolute difference.
    public static func pairedBootstrap(
        baselineScores: [Double], systemScores: [Double], baselineScore: Double, systemScore: Double
    ) -> (mean: Double, halfWidth: Double, pValue: Double) {
        let (mean, halfWidth) = numpyConfidence(systemScores)
        let differences = zip(systemScores, baselineScores).map { abs($0 - $1) }
        let centre = numpyMean(differences)
        let actual = abs(baselineScore - systemScore)
        let exceeding = differences.filter { $0 - centre > actual }.count
        return (mean, halfWidth, Double(exceeding + 1) / Double(systemScores.count + 1))
    }
}

extension BLEU {
    /// BLEU of resampled statistics held as float32 (`[hyp_len, ref_len, correct..., total...]`),
    /// as sacreBLEU computes it during bootstrap resampling: with numpy 2's promotion rules each
    /// precision is a float32 (`100. * correct / total` in float32), the rest is double.
    public func bootstrapScore(_ sums: [Float]) -> Double {
        let order = NGramStatistics.maxOrder
        let hypothesisLength = Int(sums[0])
        let referenceLength = Int(sums[1])
        var correct = Array(sums[2..<2 + order])
        var total = Array(sums[2 + order..<2 + 2 * order])
        var brevityPenalty = 1.0
        if hypothesisLength < referenceLength {
            brevityPenalty =
                hypothesisLength > 0 ? exp(1 - Double(referenceLength) / Double(hypothesisLength)) : 0
        }
        if correct.allSatisfy({ $0 == 0 }) { return 0 }
        var precisions = [Double](repeating: 0, count: order)
        var mteval = 1.0
        var effective = order
        for n in 1...order {
            if case .addK(let k) = smoothing, n > 1 {
                correct[n - 1] += Float(k)
                total[n - 1] += Float(k)
            }
            if total[n - 1] == 0 { break }
            if effectiveOrder { effective = n }
            if correct[n - 1] == 0 {
                switch smoothing {
                case .exponential:
                    mteval *= 2
                    precisions[n - 1] = Double(Float(100) / (Float(mteval) * total[n - 1]))
                case .floor(let value):
                    precisions[n - 1] = Double(Float(100 * value) / total[n - 1])
                case .none, .addK:
                    break
                }
            } else {
                precisions[n - 1] = Double(Float(100) * correct[n - 1] / total[n - 1])
            }
        }
        var logSum = 0.0
        for p in precisions[0..<effective] { logSum += pythonLog(p) }
        return brevityPenalty * exp(logSum / Double(effective))
    }
}

extension CHRF {
    /// chrF of resampled statistics held as float32, computed in float32 as sacreBLEU's
    /// `_compute_f_score` does on numpy float32 input (numpy 2 keeps Python scalars weak).
    public func bootstrapScore(_ sums: [Float]) -> Double { Double(fScore(sums)) }
}

// Reference: mjpost/sacrebleu 2.6.0, sacrebleu/metrics/chrf.py and metrics/helpers.py.
import Foundation

/// chrF (Popović 2015) and chrF++ (Popović 2017, `wordOrder: 2`) exactly as sacreBLEU 2.6.0
/// computes them.
///
/// Character n-grams are taken over Unicode scalars (Python code points) with whitespace
/// removed; word n-grams over whitespace-split words with one leading or trailing ASCII
/// punctuation mark split off. Each segment keeps the statistics of its best-scoring reference.
public struct CHRF: Sendable {
    /// Character n-gram order (sacreBLEU's default 6).
    public var characterOrder: Int
    /// Word n-gram order: 0 for chrF, 2 for chrF++.
    public var wordOrder: Int
    /// Recall weight (default 2).
    public var beta: Int
    public var lowercase: Bool
    /// Keep whitespace inside character n-grams.
    public var whitespace: Bool
    /// chrF++.py-style epsilon smoothing instead of sacreBLEU's effective-order averaging.
    public var epsSmoothing: Bool

    public init(
        characterOrder: Int = 6, wordOrder: Int = 0, beta: Int = 2, lowercase: Bool = false,
        whitespace: Bool = false, epsSmoothing: Bool = false
    ) {
        precondition(characterOrder >= 1 && characterOrder <= 6, "chrF: character order \(characterOrder), supported 1...6")
        precondition(wordOrder >= 0 && wordOrder <= 4, "chrF: word order \(wordOrder), supported 0...4")
        self.characterOrder = characterOrder
        self.wordOrder = wordOrder
        self.beta = beta
        self.lowercase = lowercase
        self.whitespace = whitespace
        self.epsSmoothing = epsSmoothing
    }

    /// `chrF2`, `chrF2++`.
    public var name: String { "chrF\(beta)" + String(repeating: "+", count: wordOrder) }

    /// Orders in all (character then word).
    public var order: Int { characterOrder + wordOrder }

    /// Integers per segment: `[hypothesis, reference, match]` per order.
    public var stride: Int { 3 * order }

    /// Per-segment statistics, `stride` integers each, on up to `threads` threads.
    public func segmentStatistics(hypotheses: [String], references: [[String]], threads: Int? = nil)
        throws(BLEUError) -> [Int]
    {
        guard !references.isEmpty else { throw BLEUError.noReferences }
        for (k, stream) in references.enumerated() where stream.count != hypotheses.count {
            throw BLEUError.lengthMismatch(hypotheses: hypotheses.count, referenceStream: k, references: stream.count)
        }
        var values = [Int](repeating: 0, count: hypotheses.count * stride)
        let metric = self
        let stride = stride
        values.withUnsafeMutableBufferPointer { buffer in
            let output = SendableBuffer(buffer)
            parallelChunks(count: hypotheses.count, threads: threads) { range in
                var counter = CHRFCounter(metric: metric)
                for i in range {
                    let segment = counter.statistics(
                        hypothesis: hypotheses[i], references: references.map { $0[i] })
                    for k in 0..<stride { output.buffer[i * stride + k] = segment[k] }
                }
            }
        }
        return values
    }

    /// Corpus chrF on the 0–100 scale.
    public func corpusScore(hypotheses: [String], references: [[String]]) throws(BLEUError) -> Double {
        let values = try segmentStatistics(hypotheses: hypotheses, references: references)
        return score(Self.sum(values, stride: stride).map(Double.init))
    }

    /// chrF of one segment against its references.
    public func sentenceScore(hypothesis: String, references: [String]) -> Double {
        var counter = CHRFCounter(metric: self)
        return score(counter.statistics(hypothesis: hypothesis, references: references).map(Double.init))
    }

    static func sum(_ values: [Int], stride: Int) -> [Int] {
        var totals = [Int](repeating: 0, count: stride)
        for (index, value) in values.enumerated() { totals[index % stride] += value }
        return totals
    }

    /// sacreBLEU's `_compute_f_score` over added-up statistics.
    ///
    /// Concretely, per order: P = match/hyp, R = match/ref (ε = 1e-16 when empty). Without eps
    /// smoothing, P and R are averaged over the orders where both hyp and ref are non-empty, and
    /// chrF = 100 · (1+β²)·P·R / (β²·P + R).
    public func score(_ statistics: [Double]) -> Double { fScore(statistics) }

    /// `score` in the precision of the statistics: Double for scores, Float for the bootstrap, which
    /// sacreBLEU computes on numpy float32 arrays.
    func fScore<T: BinaryFloatingPoint>(_ statistics: [T]) -> T {
        let eps = T(1e-16)
        var score: T = 0
        var effectiveOrder = 0
        let factor = T(beta * beta)
        var averagePrecision: T = 0
        var averageRecall: T = 0
        for i in 0..<order {
            let hyp = statistics[3 * i]
            let ref = statistics[3 * i + 1]
            let match = statistics[3 * i + 2]
            let precision = hyp > 0 ? match / hyp : eps
            let recall = ref > 0 ? match / ref : eps
            let denominator = factor * precision + recall
            score += denominator > 0 ? (1 + factor) * precision * recall / denominator : eps
            if hyp > 0 && ref > 0 {
                averagePrecision += precision
                averageRecall += recall
                effectiveOrder += 1
            }
        }
        if epsSmoothing { return 100 * score / T(order) }
        if effectiveOrder == 0 {
            averagePrecision = 0
            averageRecall = 0
        } else {
            averagePrecision /= T(effectiveOrder)
            averageRecall /= T(effectiveOrder)
        }
        if averagePrecision + averageRecall != 0 {
            var result = (1 + factor) * averagePrecision * averageRecall
            result /= factor * averagePrecision + averageRecall
            return 100 * result
        }
        return 0
    }

    /// `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:...`.
    public func signature(referenceCount: Int, version: String = Signature.defaultVersion) -> Signature {
        Signature(fields: [
            ("nrefs", "#", Signature.referenceCountText(referenceCount)),
            ("case", "c", lowercase ? "lc" : "mixed"),
            ("eff", "e", epsSmoothing ? "no" : "yes"),
            ("nc", "nc", String(characterOrder)),
            ("nw", "nw", String(wordOrder)),
            ("space", "s", whitespace ? "yes" : "no"),
            ("version", "v", version),
        ])
    }
}

/// One segment's chrF statistics; one per worker thread.
///
/// Every n-gram (character or word, any order) is a 128-bit key in one open-addressing table:
/// up to six code points (plus one, 21 bits each), or a tag bit and up to four word ids (31 bits
/// each); zero padding tells the orders apart. Matches `Σ min(h(g), r(g))` are counted
/// incrementally while reading a reference, like clipping in `BLEUCounter`.
struct CHRFCounter {
    let metric: CHRF
    private var words = TokenInterner(capacity: 64)

    private struct Entry {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var stamp: UInt32 = 0
        var order: Int32 = 0
        var hypothesisCount: Int32 = 0
        var referenceCount: Int32 = 0
        var reference: Int32 = -1
    }

    private var table: [Entry] = []
    private var generation: UInt32 = 0
    private var mask = 0
    private var keys: [(UInt64, UInt64, Int32)] = []

    init(metric: CHRF) {
        self.metric = metric
        table = [Entry](repeating: Entry(), count: 1 << 10)
        mask = table.count - 1
    }

    /// `[hyp, ref, match]` per order, for the reference with the best chrF (the first on ties).
    mutating func statistics(hypothesis: String, references: [String]) -> [Int] {
        let hypothesis = metric.lowercase ? PythonText.lowercase(hypothesis) : hypothesis
        var hypothesisKeys: [(UInt64, UInt64, Int32)] = []
        collectKeys(hypothesis, into: &hypothesisKeys)
        var hypothesisTotals = [Int](repeating: 0, count: metric.order)
        for key in hypothesisKeys { hypothesisTotals[Int(key.2)] += 1 }

        var referenceKeys: [[(UInt64, UInt64, Int32)]] = []
        var largest = hypothesisKeys.count
        for reference in references {
            var keys: [(UInt64, UInt64, Int32)] = []
            collectKeys(metric.lowercase ? PythonText.lowercase(reference) : reference, into: &keys)
            largest = max(largest, keys.count)
            referenceKeys.append(keys)
        }
        let needed = max(16, (hypothesisKeys.count + largest) * 2)
        if needed > table.count {
            var size = table.count
            while size < needed { size <<= 1 }
            table = [Entry](repeating: Entry(), count: size)
            mask = size - 1
            generation = 0
        }
        generation &+= 1
        if generation == 0 {
            table = [Entry](repeating: Entry(), count: table.count)
            generation = 1
        }
        let generation = generation
        let mask = mask
        var best: [Int] = []
        var bestScore = -1.0
        table.withUnsafeMutableBufferPointer { table in
            func find(_ key: (UInt64, UInt64, Int32)) -> Int {
                var h = key.0 &* 0x9E37_79B9_7F4A_7C15 ^ key.1 &* 0xC2B2_AE3D_27D4_EB4F
                h ^= h >> 29
                var s = Int(truncatingIfNeeded: h) & mask
                while table[s].stamp == generation && (table[s].high != key.0 || table[s].low != key.1) {
                    s = (s + 1) & mask
                }
                if table[s].stamp != generation {
                    table[s] = Entry(high: key.0, low: key.1, stamp: generation, order: key.2)
                }
                return s
            }
            for key in hypothesisKeys { table[find(key)].hypothesisCount += 1 }
            for (r, keys) in referenceKeys.enumerated() {
                var stats = [Int](repeating: 0, count: metric.stride)
                let reference = Int32(r)
                for key in keys {
                    let s = find(key)
                    if table[s].reference != reference {
                        table[s].reference = reference
                        table[s].referenceCount = 0
                    }
                    table[s].referenceCount += 1
                    stats[3 * Int(key.2) + 1] += 1
                    if table[s].referenceCount <= table[s].hypothesisCount { stats[3 * Int(key.2) + 2] += 1 }
                }
                for n in 0..<metric.order where stats[3 * n + 1] > 0 { stats[3 * n] = hypothesisTotals[n] }
                let f = metric.score(stats.map(Double.init))
                if f > bestScore {
                    bestScore = f
                    best = stats
                }
            }
        }
        return best.isEmpty ? [Int](repeating: 0, count: metric.stride) : best
    }

    /// Appends the keys of all n-grams of `line`, each with its order index (characters
    /// 0..<characterOrder, then words).
    private mutating func collectKeys(_ line: String, into keys: inout [(UInt64, UInt64, Int32)]) {
        // Character n-grams over code points, whitespace removed unless asked to keep it.
        var scalars: [UInt64] = []
        for scalar in line.unicodeScalars where metric.whitespace || !PythonText.isWhitespace(scalar.value) {
            scalars.append(UInt64(scalar.value) + 1)
        }
        for n in 1...metric.characterOrder where scalars.count >= n {
            for i in 0...(scalars.count - n) {
                var high: UInt64 = 0
                var low: UInt64 = 0
                for k in 0..<n {
                    if k < 3 {
                        high |= scalars[i + k] << (42 - 21 * UInt64(k))
                    } else {
                        low |= scalars[i + k] << (42 - 21 * UInt64(k - 3))
                    }
                }
                keys.append((high, low, Int32(n - 1)))
            }
        }
        guard metric.wordOrder > 0 else { return }
        var ids: [UInt64] = []
        var text = line
        text.withUTF8 { bytes in
            for word in wordsWithPunctuationSplit(bytes) {
                ids.append(UInt64(words.id(bytes, word.lowerBound, word.upperBound)))
            }
        }
        for n in 1...metric.wordOrder where ids.count >= n {
            for i in 0...(ids.count - n) {
                var high: UInt64 = 1 << 63
                var low: UInt64 = 0
                for k in 0..<n {
                    let shift = k % 2 == 0 ? UInt64(32) : 1
                    if k < 2 { high |= ids[i + k] << shift } else { low |= ids[i + k] << shift }
                }
                keys.append((high, low, Int32(metric.characterOrder + n - 1)))
            }
        }
    }

    /// sacreBLEU's `_remove_punctuation`: whitespace-split words; a word longer than one code
    /// point loses a trailing ASCII punctuation mark, or else a leading one, as a word of its own.
    private func wordsWithPunctuationSplit(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var index = 0
        var start = -1
        func flush(_ end: Int) {
            guard start >= 0 else { return }
            let word = start..<end
            start = -1
            // One code point: kept whole.
            if utf8Width(bytes[word.lowerBound]) == word.count {
                out.append(word)
            } else if Self.isASCIIPunctuation(bytes[word.upperBound - 1]) {
                out.append(word.lowerBound..<word.upperBound - 1)
                out.append(word.upperBound - 1..<word.upperBound)
            } else if Self.isASCIIPunctuation(bytes[word.lowerBound]) {
                out.append(word.lowerBound..<word.lowerBound + 1)
                out.append(word.lowerBound + 1..<word.upperBound)
            } else {
                out.append(word)
            }
        }
        while index < bytes.count {
            let length = PythonText.whitespaceLength(bytes, index)
            if length > 0 {
                flush(index)
                index += length
            } else {
                if start < 0 { start = index }
                index += 1
            }
        }
        flush(bytes.count)
        return out
    }

    /// Python's `string.punctuation`.
    private static func isASCIIPunctuation(_ byte: UInt8) -> Bool {
        (0x21...0x2F).contains(byte) || (0x3A...0x40).contains(byte) || (0x5B...0x60).contains(byte)
            || (0x7B...0x7E).contains(byte)
    }
}

// Reference: mjpost/sacrebleu 2.6.0, sacrebleu/metrics/bleu.py (BLEU, compute_bleu).
import Foundation

/// BLEU (Papineni et al., 2002) exactly as sacreBLEU 2.6.0 computes it: the same tokenizers,
/// statistics, smoothing and rounding, so scores agree to the last digit.
///
/// Use it in-process, e.g. for validation BLEU during training:
/// ```swift
/// let bleu = BLEU()                                   // 13a, mixed case, exp smoothing
/// let score = try bleu.corpusScore(hypotheses: hyps, references: [refs])
/// var sum = NGramStatistics.zero                      // or batch by batch, same number
/// for batch in batches { sum += try bleu.corpusStatistics(hypotheses: batch.hyps, references: [batch.refs]) }
/// let same = bleu.score(sum)
/// ```
///
/// References come as sacreBLEU takes them: `references[k][i]` is the k-th reference of segment i
/// (one array per reference stream). An empty reference string is a reference of length 0.
public struct BLEU: Sendable {
    public var tokenizer: Tokenizer
    /// Lowercase hypotheses and references first (`-lc`), with Python's `str.lower()`.
    public var lowercase: Bool
    public var smoothing: Smoothing
    /// Average only over the orders that have hypothesis n-grams (on for sentence BLEU).
    public var effectiveOrder: Bool

    /// - Parameters:
    ///   - tokenizer: 13a by default, as sacreBLEU.
    ///   - lowercase: case-insensitive BLEU.
    ///   - smoothing: `.exponential` by default, as sacreBLEU.
    ///   - effectiveOrder: off for corpus BLEU (sacreBLEU's default); the command line turns it
    ///     on for sentence BLEU.
    public init(
        tokenizer: Tokenizer = .thirteenA, lowercase: Bool = false, smoothing: Smoothing = .exponential,
        effectiveOrder: Bool = false
    ) {
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        self.smoothing = smoothing
        self.effectiveOrder = effectiveOrder
    }

    /// What BLEU counts words in: the line lowercased (optionally), without trailing whitespace,
    /// tokenized; words are then separated by whitespace.
    public func preprocess(_ line: String) -> String {
        let text = lowercase ? PythonText.lowercase(line) : line
        return tokenizer(PythonText.rstrip(text))
    }

    // MARK: - Statistics

    /// Per-segment statistics, computed on up to `threads` threads (default: all cores). The
    /// result does not depend on the number of threads.
    ///
    /// - Throws: `BLEUError.lengthMismatch` when a reference stream's length differs from the
    ///   hypotheses', `BLEUError.noReferences` when `references` is empty.
    public func segmentStatistics(
        hypotheses: [String], references: [[String]], threads: Int? = nil
    ) throws(BLEUError) -> SegmentStatistics {
        try validate(hypotheses: hypotheses.count, references: references)
        var result = SegmentStatistics(count: hypotheses.count)
        let tokenizer = tokenizer
        let lowercase = lowercase
        result.values.withUnsafeMutableBufferPointer { values in
            let output = SendableBuffer(values)
            parallelChunks(count: hypotheses.count, threads: threads) { range in
                var counter = BLEUCounter(
                    tokenizer: tokenizer, lowercase: lowercase, capacity: min(1 << 16, max(64, range.count * 16)))
                var segmentReferences: [String] = []
                for i in range {
                    segmentReferences.removeAll(keepingCapacity: true)
                    for stream in references { segmentReferences.append(stream[i]) }
                    let base = i * SegmentStatistics.stride
                    counter.statistics(
                        hypothesis: hypotheses[i], references: segmentReferences,
                        into: UnsafeMutableBufferPointer(
                            rebasing: output.buffer[base..<base + SegmentStatistics.stride]))
                }
            }
        }
        return result
    }

    /// The statistics of a whole corpus (or batch): the sum over its segments.
    public func corpusStatistics(hypotheses: [String], references: [[String]]) throws(BLEUError)
        -> NGramStatistics
    {
        try segmentStatistics(hypotheses: hypotheses, references: references).sum
    }

    /// One segment's statistics against its references (any number, at least one).
    public func sentenceStatistics(hypothesis: String, references: [String]) -> NGramStatistics {
        var counter = BLEUCounter(tokenizer: tokenizer, lowercase: lowercase, capacity: 64)
        var values = [Int](repeating: 0, count: SegmentStatistics.stride)
        values.withUnsafeMutableBufferPointer { counter.statistics(hypothesis: hypothesis, references: references, into: $0) }
        return NGramStatistics(
            hypothesisLength: values[0], referenceLength: values[1], correct: Array(values[2..<6]),
            total: Array(values[6..<10]))
    }

    // MARK: - Scores

    /// Corpus BLEU, as `sacrebleu REF -i HYP` and `BLEU().corpus_score(hyps, refs)`.
    public func corpusScore(hypotheses: [String], references: [[String]]) throws(BLEUError) -> BLEUScore {
        score(try corpusStatistics(hypotheses: hypotheses, references: references))
    }

    /// Sentence BLEU of one hypothesis. sacreBLEU's `sentence_score` uses this object's settings;
    /// its command line (`-sl`) turns `effectiveOrder` on, see `BLEU.sentenceLevel`.
    public func sentenceScore(hypothesis: String, references: [String]) -> BLEUScore {
        score(sentenceStatistics(hypothesis: hypothesis, references: references))
    }

    /// These settings with effective order on, as sacreBLEU's `-sl` uses for sentence BLEU.
    public var sentenceLevel: BLEU {
        var copy = self
        copy.effectiveOrder = true
        return copy
    }

    /// The score of already added-up statistics, with this object's smoothing.
    public func score(_ statistics: NGramStatistics) -> BLEUScore {
        Self.score(from: statistics, smoothing: smoothing, effectiveOrder: effectiveOrder)
    }

    /// sacreBLEU's `compute_bleu`: brevity penalty times the geometric mean of the (smoothed)
    /// precisions.
    ///
    /// Concretely, with c = hypothesis length, r = reference length and p_n in percent:
    /// ```
    /// BP   = c < r ? (c > 0 ? exp(1 - r/c) : 0) : 1
    /// BLEU = BP · exp((1/N) Σ_{n≤N} log p_n)     log 0 := -9999999999
    /// ```
    /// N is 4, or with `effectiveOrder` the number of leading orders with hypothesis n-grams.
    /// BLEU is 0 when nothing matches at all. The arithmetic follows sacreBLEU operation by
    /// operation, so the result is the same double.
    public static func score(
        from statistics: NGramStatistics, smoothing: Smoothing, effectiveOrder: Bool
    ) -> BLEUScore {
        score(
            correct: statistics.correct.map(Double.init), total: statistics.total.map(Double.init),
            hypothesisLength: statistics.hypothesisLength, referenceLength: statistics.referenceLength,
            smoothing: smoothing, effectiveOrder: effectiveOrder)
    }

    static func score(
        correct: [Double], total: [Double], hypothesisLength: Int, referenceLength: Int,
        smoothing: Smoothing, effectiveOrder: Bool
    ) -> BLEUScore {
        var correct = correct
        var total = total
        let order = NGramStatistics.maxOrder
        var brevityPenalty = 1.0
        if hypothesisLength < referenceLength {
            brevityPenalty =
                hypothesisLength > 0 ? exp(1 - Double(referenceLength) / Double(hypothesisLength)) : 0
        }
        var precisions = [Double](repeating: 0, count: order)
        func result(_ score: Double) -> BLEUScore {
            BLEUScore(
                score: score, correct: correct, total: total, precisions: precisions,
                brevityPenalty: brevityPenalty, hypothesisLength: hypothesisLength,
                referenceLength: referenceLength)
        }
        if correct.allSatisfy({ $0 == 0 }) { return result(0) }

        var mteval = 1.0
        var effective = order
        for n in 1...order {
            if case .addK(let k) = smoothing, n > 1 {
                correct[n - 1] += k
                total[n - 1] += k
            }
            if total[n - 1] == 0 { break }
            if effectiveOrder { effective = n }
            if correct[n - 1] == 0 {
                switch smoothing {
                case .exponential:
                    mteval *= 2
                    precisions[n - 1] = 100 / (mteval * total[n - 1])
                case .floor(let value):
                    precisions[n - 1] = 100 * value / total[n - 1]
                case .none, .addK:
                    break
                }
            } else {
                precisions[n - 1] = 100 * correct[n - 1] / total[n - 1]
            }
        }
        var logSum = 0.0
        for p in precisions[0..<effective] { logSum += pythonLog(p) }
        return result(brevityPenalty * exp(logSum / Double(effective)))
    }

    // MARK: - Signature

    /// The signature sacreBLEU prints for these settings, e.g.
    /// `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:...`.
    public func signature(referenceCount: Int, version: String = Signature.defaultVersion) -> Signature {
        Signature(
            BLEUFields: referenceCount, lowercase: lowercase, effectiveOrder: effectiveOrder,
            tokenizer: tokenizer.signature, smoothing: smoothing.signature, version: version)
    }

    private func validate(hypotheses: Int, references: [[String]]) throws(BLEUError) {
        guard !references.isEmpty else { throw BLEUError.noReferences }
        for (k, stream) in references.enumerated() where stream.count != hypotheses {
            throw BLEUError.lengthMismatch(hypotheses: hypotheses, referenceStream: k, references: stream.count)
        }
    }
}

/// sacreBLEU's `my_log`: log, with log 0 taken as -9999999999 so the score becomes 0.
@inline(__always)
func pythonLog(_ x: Double) -> Double { x == 0 ? -9_999_999_999 : log(x) }

/// Bad input to the BLEU and chrF library calls.
public enum BLEUError: Error, Equatable, CustomStringConvertible {
    /// A reference stream does not have one line per hypothesis.
    case lengthMismatch(hypotheses: Int, referenceStream: Int, references: Int)
    /// No reference stream at all.
    case noReferences

    public var description: String {
        switch self {
        case .lengthMismatch(let hypotheses, let stream, let references):
            return "\(hypotheses) hypotheses but reference stream \(stream + 1) has \(references) lines"
        case .noReferences:
            return "no references"
        }
    }
}

/// A mutable buffer handed to worker threads that write disjoint parts of it.
struct SendableBuffer<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
    init(_ buffer: UnsafeMutableBufferPointer<Element>) { self.buffer = buffer }
}

/// Runs `body` over contiguous chunks of `0..<count` on up to `threads` threads (default: all
/// active cores). Small inputs run on the calling thread.
func parallelChunks(count: Int, threads: Int?, _ body: @escaping @Sendable (Range<Int>) -> Void) {
    let workers = max(1, min(threads ?? ProcessInfo.processInfo.activeProcessorCount, count / 512))
    if workers == 1 {
        body(0..<count)
        return
    }
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        body(count * w / workers..<count * (w + 1) / workers)
    }
}

import BLEU

/// BLEU or chrF behind one interface: statistics per segment, a score from their sum, a report.
enum ScoringMetric {
    case bleu(BLEU)
    case chrf(CHRF)

    /// The name in tables and reports: `BLEU`, `chrF2`, `chrF2++`.
    var name: String {
        switch self {
        case .bleu: return "BLEU"
        case .chrf(let chrf): return chrf.name
        }
    }

    var stride: Int {
        switch self {
        case .bleu: return SegmentStatistics.stride
        case .chrf(let chrf): return chrf.stride
        }
    }

    func segmentStatistics(_ hypotheses: [String], _ references: [[String]]) throws -> [Int] {
        switch self {
        case .bleu(let bleu): return try bleu.segmentStatistics(hypotheses: hypotheses, references: references).values
        case .chrf(let chrf): return try chrf.segmentStatistics(hypotheses: hypotheses, references: references)
        }
    }

    /// The score of summed statistics and the verbose part of the report (BLEU only).
    func score(_ segments: [Int]) -> (score: Double, verbose: String?) {
        var sums = [Int](repeating: 0, count: stride)
        for (index, value) in segments.enumerated() { sums[index % stride] += value }
        switch self {
        case .bleu(let bleu):
            let result = bleu.score(
                NGramStatistics(
                    hypothesisLength: sums[0], referenceLength: sums[1], correct: Array(sums[2..<6]),
                    total: Array(sums[6..<10])))
            return (result.score, result.verbose)
        case .chrf(let chrf):
            return (chrf.score(sums.map(Double.init)), nil)
        }
    }

    /// The scorer of float32 resample sums sacreBLEU's bootstrap uses.
    var bootstrapScore: @Sendable ([Float]) -> Double {
        switch self {
        case .bleu(let bleu): return { bleu.bootstrapScore($0) }
        case .chrf(let chrf): return { chrf.bootstrapScore($0) }
        }
    }

    func signature(referenceCount: Int) -> Signature {
        switch self {
        case .bleu(let bleu): return bleu.signature(referenceCount: referenceCount)
        case .chrf(let chrf): return chrf.signature(referenceCount: referenceCount)
        }
    }
}

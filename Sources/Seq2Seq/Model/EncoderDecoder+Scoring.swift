// Forced decoding: the model's log-probability of given targets (fairseq `--score-reference`, Marian's scorer).

/// The score of one target under the model.
public struct TargetScore: Sendable, Equatable {
    /// Σ ln p over the target's tokens and its EOS.
    public var logProbability: Double
    /// Tokens scored: the target's pieces plus EOS.
    public var tokenCount: Int
}

extension EncoderDecoder {
    /// Scores each target given its source by teacher forcing, in batches of about `maxTokens` padded
    /// tokens (pairs are grouped by length; results come back in input order).
    /// - Parameters:
    ///   - sources: piece ids without EOS (it is appended).
    ///   - targets: piece ids without EOS (it is appended, and scored).
    /// - Precondition: as many sources as targets; every id is in the vocabulary.
    public func score(sources: [[Int]], targets: [[Int]], maxTokens: Int = 4096) -> [TargetScore] {
        precondition(sources.count == targets.count, "score: \(sources.count) sources for \(targets.count) targets")
        let c = configuration
        let order = sources.indices.sorted { (targets[$0].count, sources[$0].count) < (targets[$1].count, sources[$1].count) }
        var results = [TargetScore](repeating: TargetScore(logProbability: 0, tokenCount: 0), count: sources.count)
        var start = 0
        while start < order.count {
            // Grow the batch while B · (longest side + 1) stays within maxTokens (at least one pair).
            var end = start + 1
            var longest = max(sources[order[start]].count, targets[order[start]].count) + 1
            while end < order.count {
                let next = max(longest, sources[order[end]].count + 1, targets[order[end]].count + 1)
                if next * (end - start + 1) > maxTokens { break }
                longest = next
                end += 1
            }
            let batch = Array(order[start..<end])
            let source = TokenBatch(rows: batch.map { sources[$0] + [c.eosId] }, padId: c.padId)
            let previousOutput = TokenBatch(rows: batch.map { [c.eosId] + targets[$0] }, padId: c.padId)
            let logProbabilities = self.logProbabilities(source: source, previousOutput: previousOutput).value  // [B, T, V]
            let (length, vocabulary) = (previousOutput.length, c.vocabularySize)
            for (row, index) in batch.enumerated() {
                let target = targets[index] + [c.eosId]
                var total = 0.0
                for (t, token) in target.enumerated() {
                    total += Double(logProbabilities.scalars[(row * length + t) * vocabulary + token])
                }
                results[index] = TargetScore(logProbability: total, tokenCount: target.count)
            }
            start = end
        }
        return results
    }
}

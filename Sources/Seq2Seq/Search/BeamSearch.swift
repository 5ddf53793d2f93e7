import Foundation

/// Batched beam search over an `IncrementalDecoder`, as fairseq does it.
///
/// At each step every live sentence ranks all `beam × V` continuations of its hypotheses by
/// accumulated log-probability and takes the best `2·beam`. EOS candidates that rank within the
/// first `beam` are finished (scored `Σ log p / length^lengthPenalty`); the best `beam` non-EOS
/// candidates carry on. A sentence stops when it has `beam` finished hypotheses or reaches its
/// maximum length (where EOS is forced), and leaves the batch so later steps cost less.
/// With `beamSize` 1 this is greedy search.
///
/// Ties between equal scores go to the candidate of the lower hypothesis row, then the lower
/// token id, so results do not depend on anything but the log-probabilities.
public struct BeamSearch: Sendable {
    public let options: DecodingOptions
    public let special: SpecialTokens

    public init(options: DecodingOptions, special: SpecialTokens = SpecialTokens()) {
        precondition(options.beamSize >= 1 && options.nBest >= 1)
        self.options = options
        self.special = special
    }

    /// The longest output allowed for a source of `sourceLength` tokens (EOS included), counting
    /// the output's EOS: `⌊a · sourceLength + b⌋`, computed in Float32 as the reference does.
    public func maxLength(sourceLength: Int) -> Int {
        Int(Float(sourceLength) * Float(options.maxLengthA) + Float(options.maxLengthB))
    }

    /// Searches every source (token ids ending in EOS) and returns up to `nBest` hypotheses per
    /// source, best first, in the order of `sources`.
    public func search<Decoder: IncrementalDecoder>(_ decoder: Decoder, sources: [[Int]])
        -> [[Hypothesis]]
    {
        let beam = options.beamSize
        let vocabulary = decoder.vocabularySize
        let maxLengths = sources.map { maxLength(sourceLength: $0.count) }
        var state = decoder.start(sources: sources, copies: beam)
        var finished = [[Hypothesis]](repeating: [], count: sources.count)

        // Row-wise search state: `alive[i]` is the sentence of rows i·beam ..< (i+1)·beam.
        var alive = Array(sources.indices)
        var scores = [Float](repeating: 0, count: sources.count * beam)
        var prefixes = [[Int]](repeating: [], count: sources.count * beam)
        for sentence in sources.indices {
            for member in 1..<beam { scores[sentence * beam + member] = -.infinity }
        }
        var lastTokens = [Int](repeating: special.eos, count: sources.count * beam)
        var step = 0

        while !alive.isEmpty {
            var logProbabilities = decoder.step(tokens: lastTokens, state: &state)
            precondition(logProbabilities.count == alive.count * beam * vocabulary)
            var nextRows: [Int] = [], nextTokens: [Int] = [], nextScores: [Float] = []
            var nextPrefixes: [[Int]] = [], nextAlive: [Int] = []
            for (slot, sentence) in alive.enumerated() {
                let rows = slot * beam..<(slot + 1) * beam
                for row in rows {
                    constrain(
                        &logProbabilities, row: row, vocabulary: vocabulary, prefix: prefixes[row],
                        step: step, maxLength: maxLengths[sentence])
                }
                let candidates = bestCandidates(
                    logProbabilities, scores: scores, rows: rows, vocabulary: vocabulary,
                    count: min(2 * beam, beam * vocabulary))
                for candidate in candidates.prefix(beam)
                where candidate.token == special.eos && candidate.score.isFinite
                    && finished[sentence].count < beam
                {
                    let tokens = prefixes[candidate.row]
                    let length = Double(tokens.count + 1)
                    finished[sentence].append(
                        Hypothesis(
                            tokens: tokens, logProbability: candidate.score,
                            score: Double(candidate.score) / pow(length, options.lengthPenalty)))
                }
                let isDone = finished[sentence].count >= beam || step + 1 >= maxLengths[sentence]
                if isDone { continue }
                // The best `beam` candidates that are not EOS, then EOS ones if too few remain.
                let carried = (candidates.filter { $0.token != special.eos }
                    + candidates.filter { $0.token == special.eos }).prefix(beam)
                nextAlive.append(sentence)
                for candidate in carried {
                    nextRows.append(candidate.row)
                    nextTokens.append(candidate.token)
                    nextScores.append(candidate.score)
                    nextPrefixes.append(prefixes[candidate.row] + [candidate.token])
                }
            }
            step += 1
            if nextAlive.isEmpty { break }
            decoder.reorder(&state, rows: nextRows)
            alive = nextAlive
            lastTokens = nextTokens
            scores = nextScores
            prefixes = nextPrefixes
        }

        return finished.map { hypotheses in
            // Stable: among equal scores the earlier finished hypothesis comes first.
            let ranked = hypotheses.enumerated().sorted {
                $0.element.score != $1.element.score
                    ? $0.element.score > $1.element.score : $0.offset < $1.offset
            }
            return ranked.prefix(options.nBest).map(\.element)
        }
    }

    /// One continuation: hypothesis `row` followed by `token`, with the accumulated log-probability.
    struct Candidate {
        var row: Int
        var token: Int
        var score: Float
    }

    /// Applies the bans and penalties of the options to one row of log-probabilities, in place.
    func constrain(
        _ logProbabilities: inout [Float], row: Int, vocabulary: Int, prefix: [Int], step: Int,
        maxLength: Int
    ) {
        let base = row * vocabulary
        logProbabilities[base + special.pad] = -.infinity
        logProbabilities[base + special.bos] = -.infinity
        logProbabilities[base + special.unknown] -= options.unknownPenalty
        if step < options.minLength { logProbabilities[base + special.eos] = -.infinity }
        for token in bannedByNGramRepeat(prefix) { logProbabilities[base + token] = -.infinity }
        if maxLength <= step + 1 {
            // The last allowed position: only EOS may follow.
            let eos = logProbabilities[base + special.eos]
            for v in 0..<vocabulary { logProbabilities[base + v] = -.infinity }
            logProbabilities[base + special.eos] = eos
        }
    }

    /// Tokens that would repeat an n-gram of `prefix` (n = `noRepeatNGramSize`).
    func bannedByNGramRepeat(_ prefix: [Int]) -> [Int] {
        let n = options.noRepeatNGramSize
        guard n > 0, prefix.count >= n - 1 else { return [] }
        if n == 1 { return prefix }
        let key = prefix.suffix(n - 1)
        var banned: [Int] = []
        var start = 0
        while start + n <= prefix.count {
            if prefix[start..<start + n - 1].elementsEqual(key) { banned.append(prefix[start + n - 1]) }
            start += 1
        }
        return banned
    }

    /// The `count` best continuations over `rows`, best first; ties go to the lower row, then the
    /// lower token.
    func bestCandidates(
        _ logProbabilities: [Float], scores: [Float], rows: Range<Int>, vocabulary: Int, count: Int
    ) -> [Candidate] {
        var best: [Candidate] = []
        best.reserveCapacity(count + 1)
        logProbabilities.withUnsafeBufferPointer { lp in
            for row in rows {
                let base = row * vocabulary
                let prior = scores[row]
                for token in 0..<vocabulary {
                    let score = prior + lp[base + token]
                    // Strictly better than the current last: earlier candidates win ties.
                    if best.count == count, !(score > best[count - 1].score) { continue }
                    var position = best.count
                    while position > 0, score > best[position - 1].score { position -= 1 }
                    best.insert(Candidate(row: row, token: token, score: score), at: position)
                    if best.count > count { best.removeLast() }
                }
            }
        }
        return best
    }
}

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
    ///
    /// Every step scores all live hypotheses of all sentences with one call of the decoder; each row's
    /// log-softmax and its best `2·beam` continuations come from one pass over its scores (a partial
    /// selection, not a sort), and only those few candidates per row are ranked per sentence.
    public func search<Decoder: IncrementalDecoder>(_ decoder: Decoder, sources: [[Int]])
        -> [[Hypothesis]]
    {
        let beam = options.beamSize
        let vocabulary = decoder.vocabularySize
        let maxLengths = sources.map { maxLength(sourceLength: $0.count) }
        let count = min(2 * beam, beam * vocabulary)
        let perRow = min(count, vocabulary)
        // Rows per sentence. At the first step all `beam` hypotheses of a sentence are the start symbol, the
        // first with score 0 and the others −∞, so the first row alone gives the same `2·beam` best
        // candidates (the others' all rank after its): the first step feeds one row per sentence when one
        // row has that many candidates, and the search widens to `beam` rows after it.
        var width = perRow >= count ? 1 : beam
        var state = decoder.start(sources: sources, copies: width)
        var finished = [[Hypothesis]](repeating: [], count: sources.count)

        // Row-wise search state: `alive[i]` is the sentence of rows i·width ..< (i+1)·width.
        var alive = Array(sources.indices)
        var scores = [Float](repeating: 0, count: sources.count * width)
        var prefixes = [[Int]](repeating: [], count: sources.count * width)
        for sentence in sources.indices {
            for member in 1..<width { scores[sentence * width + member] = -.infinity }
        }
        var lastTokens = [Int](repeating: special.eos, count: sources.count * width)
        var step = 0
        // Kept for the whole search: the decoder's scores of a step and each row's best continuations.
        var next = NextTokenScores()
        var rowBest = [Candidate](
            repeating: Candidate(row: 0, token: 0, score: 0), count: sources.count * beam * perRow)

        while !alive.isEmpty {
            decoder.step(tokens: lastTokens, state: &state, scores: &next)
            let rowCount = alive.count * width
            precondition(next.rows == rowCount && next.values.count >= rowCount * vocabulary)
            let rowMaxLengths = (0..<rowCount).map { maxLengths[alive[$0 / width]] }
            selectPerRow(
                &next, vocabulary: vocabulary, priors: scores, prefixes: prefixes, step: step,
                maxLengths: rowMaxLengths, perRow: perRow, into: &rowBest)
            var nextRows: [Int] = [], nextTokens: [Int] = [], nextScores: [Float] = []
            var nextPrefixes: [[Int]] = [], nextAlive: [Int] = []
            for (slot, sentence) in alive.enumerated() {
                let candidates = merge(rowBest, rows: slot * width..<(slot + 1) * width, perRow: perRow, count: count)
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
            width = beam
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

    /// For every row: the log-softmax shift (when the decoder gave logits), the bans and penalties of the
    /// options, and the row's `perRow` best continuations, best first, written to
    /// `best[row·perRow ..< (row+1)·perRow]`. Rows are spread over threads.
    ///
    /// A continuation scores `prior + (x − shift)` (minus the unknown penalty for the unknown token), with
    /// `x` the decoder's score and `shift` the row's log-sum-exp (0 for log-probabilities), as the
    /// search ranked full log-softmax rows before. Ties go to the lower token, so merging the rows of a
    /// sentence by (score, row, token) gives exactly the `2·beam` best of all its `beam × V` continuations.
    func selectPerRow(
        _ next: inout NextTokenScores, vocabulary: Int, priors: [Float], prefixes: [[Int]], step: Int,
        maxLengths: [Int], perRow: Int, into best: inout [Candidate]
    ) {
        let rowCount = next.rows
        let banned = options.noRepeatNGramSize > 0 ? prefixes.map(bannedByNGramRepeat) : []
        let normalized = next.areLogProbabilities
        let penalty = options.unknownPenalty
        let special = special
        let minLength = options.minLength
        next.values.withUnsafeMutableBufferPointer { values in
            best.withUnsafeMutableBufferPointer { best in
                let (values, best) = (values.baseAddress!, best.baseAddress!)
                Parallel.forEachRange(rowCount, work: rowCount * vocabulary * 4) { range in
                    for row in range {
                        let x = values + row * vocabulary
                        let shift = normalized ? 0 : logSumExp(x, count: vocabulary)
                        // Bans are -inf scores; the shift was taken over the unconstrained row, as the
                        // log-softmax was.
                        x[special.pad] = -.infinity
                        x[special.bos] = -.infinity
                        if step < minLength { x[special.eos] = -.infinity }
                        if !banned.isEmpty { for token in banned[row] { x[token] = -.infinity } }
                        if maxLengths[row] <= step + 1 {
                            // The last allowed position: only EOS may follow.
                            let eos = x[special.eos]
                            for v in 0..<vocabulary { x[v] = -.infinity }
                            x[special.eos] = eos
                        }
                        bestOfRow(
                            x, vocabulary: vocabulary, row: row, prior: priors[row], shift: shift,
                            unknown: penalty != 0 ? special.unknown : nil, penalty: penalty, count: perRow,
                            into: best + row * perRow)
                    }
                }
            }
        }
    }

    /// The `count` best continuations of one row, best first: score desc, then token asc.
    ///
    /// One pass over the row: a token is looked at only if its `x` beats the current `count`-th best's `x`
    /// (scores rise with `x` within a row, so no better candidate is skipped), a block at a time. The
    /// unknown token, whose penalty breaks that order, is placed separately.
    func bestOfRow(
        _ x: UnsafePointer<Float>, vocabulary: Int, row: Int, prior: Float, shift: Float, unknown: Int?,
        penalty: Float, count: Int, into best: UnsafeMutablePointer<Candidate>
    ) {
        var filled = 0
        var worstX = -Float.infinity  // x of best[count - 1] once the list is full
        withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { xs in
            let xs = xs.baseAddress!
            // Inserts token v (later than every token in the list, so after equal scores).
            @inline(__always) func consider(_ v: Int) {
                let score = prior + (x[v] - shift)
                if filled == count {
                    if !(score > best[count - 1].score) { return }
                } else {
                    filled += 1
                }
                var position = filled - 1
                while position > 0, score > best[position - 1].score {
                    best[position] = best[position - 1]
                    xs[position] = xs[position - 1]
                    position -= 1
                }
                best[position] = Candidate(row: row, token: v, score: score)
                xs[position] = x[v]
                if filled == count { worstX = xs[count - 1] }
            }
            let skip = unknown ?? -1
            var v = 0
            while v < vocabulary, filled < count {
                if v != skip { consider(v) }
                v += 1
            }
            // Blocks of 64 whose largest x does not beat the worst kept are skipped whole.
            while v + 64 <= vocabulary {
                if largestElement(x + v, count: 64) > worstX {
                    for u in v..<(v + 64) where u != skip && x[u] > worstX { consider(u) }
                }
                v += 64
            }
            while v < vocabulary {
                if v != skip && x[v] > worstX { consider(v) }
                v += 1
            }
            guard let unknown, unknown < vocabulary else { return }
            // The unknown token, with its penalty: placed by (score desc, token asc).
            let score = prior + ((x[unknown] - shift) - penalty)
            func isBetter(_ other: Candidate) -> Bool {
                score > other.score || (score == other.score && unknown < other.token)
            }
            if filled == count {
                if !isBetter(best[count - 1]) { return }
            } else {
                filled += 1
            }
            var position = filled - 1
            while position > 0, isBetter(best[position - 1]) {
                best[position] = best[position - 1]
                position -= 1
            }
            best[position] = Candidate(row: row, token: unknown, score: score)
        }
    }

    /// The `count` best candidates of `rows` (each row's list best first), best first; ties go to the
    /// lower row, then the lower token.
    func merge(_ best: [Candidate], rows: Range<Int>, perRow: Int, count: Int) -> [Candidate] {
        var all = Array(best[(rows.lowerBound * perRow)..<(rows.upperBound * perRow)])
        all.sort {
            $0.score != $1.score ? $0.score > $1.score : ($0.row != $1.row ? $0.row < $1.row : $0.token < $1.token)
        }
        return Array(all.prefix(count))
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
}

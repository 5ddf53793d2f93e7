import Foundation
import Testing

@testable import Seq2Seq

/// The search's one-pass selection (log-sum-exp, bans, then a partial top-k per row, merged per sentence)
/// against the plain definition: a full log-softmax row, the bans written into it, and every continuation
/// of every row ranked by (score desc, row asc, token asc).
@Suite("Candidate selection equals ranking full log-softmax rows")
struct CandidateSelectionTests {
    /// The plain definition, as the search computed it before the fused selection.
    func reference(
        _ logits: [Float], vocabulary: Int, priors: [Float], rows: Range<Int>, count: Int, search: BeamSearch,
        step: Int, maxLength: Int, prefixes: [[Int]], normalized: Bool
    ) -> [BeamSearch.Candidate] {
        var all: [BeamSearch.Candidate] = []
        let special = search.special
        for row in rows {
            var lp = Array(logits[(row * vocabulary)..<((row + 1) * vocabulary)])
            if !normalized {
                // The shift itself is checked by `logSumExpMatches`.
                let shift = lp.withUnsafeBufferPointer { logSumExp($0.baseAddress!, count: vocabulary) }
                lp = lp.map { $0 - shift }
            }
            lp[special.pad] = -.infinity
            lp[special.bos] = -.infinity
            lp[special.unknown] -= search.options.unknownPenalty
            if step < search.options.minLength { lp[special.eos] = -.infinity }
            for token in search.bannedByNGramRepeat(prefixes[row]) { lp[token] = -.infinity }
            if maxLength <= step + 1 {
                let eos = lp[special.eos]
                lp = lp.map { _ in -.infinity }
                lp[special.eos] = eos
            }
            for token in 0..<vocabulary {
                all.append(BeamSearch.Candidate(row: row, token: token, score: priors[row] + lp[token]))
            }
        }
        // A stable sort by score keeps (row, token) order among ties.
        let ranked = all.enumerated().sorted {
            $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset
        }
        return ranked.prefix(count).map(\.element)
    }

    func select(
        _ logits: [Float], vocabulary: Int, priors: [Float], beam: Int, search: BeamSearch, step: Int, maxLength: Int,
        prefixes: [[Int]], normalized: Bool
    ) -> [[BeamSearch.Candidate]] {
        let rowCount = priors.count
        let count = min(2 * beam, beam * vocabulary)
        let perRow = min(count, vocabulary)
        var next = NextTokenScores()
        next.values = logits
        next.rows = rowCount
        next.areLogProbabilities = normalized
        var best = [BeamSearch.Candidate](repeating: .init(row: 0, token: 0, score: 0), count: rowCount * perRow)
        search.selectPerRow(
            &next, vocabulary: vocabulary, priors: priors, prefixes: prefixes, step: step,
            maxLengths: Array(repeating: maxLength, count: rowCount), perRow: perRow, into: &best)
        return (0..<(rowCount / beam)).map {
            search.merge(best, rows: ($0 * beam)..<(($0 + 1) * beam), perRow: perRow, count: count)
        }
    }

    /// Same rows, tokens and scores (bit for bit: both sides compute `prior + (x − shift)`).
    func same(_ a: [BeamSearch.Candidate], _ b: [BeamSearch.Candidate]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.row == $1.row && $0.token == $1.token && $0.score == $1.score }
    }

    @Test(
        "random rows with ties, bans, the unknown penalty, min and max length",
        arguments: [(beam: 1, vocabulary: 7), (beam: 3, vocabulary: 50), (beam: 5, vocabulary: 203), (beam: 4, vocabulary: 5)])
    func randomRows(beam: Int, vocabulary: Int) {
        var generator = SplitMix64(seed: UInt64(beam * 1000 + vocabulary))
        for trial in 0..<16 {
            var options = DecodingOptions()
            options.beamSize = beam
            options.unknownPenalty = trial % 3 == 0 ? 0 : Float(trial % 5) * 0.7
            options.minLength = trial % 4 == 1 ? 3 : 0
            options.noRepeatNGramSize = trial % 4 == 2 ? 2 : 0
            let search = BeamSearch(options: options)
            let sentences = 3
            let rowCount = sentences * beam
            // Coarse values so that equal logits (ties) are common; some rows normalized, some not.
            let normalized = trial % 2 == 0
            var logits = (0..<(rowCount * vocabulary)).map { _ in Float(Int(generator.next() % 9)) * 0.5 - 2 }
            if normalized {
                for row in 0..<rowCount {
                    let slice = logits[(row * vocabulary)..<((row + 1) * vocabulary)]
                    let shift = slice.max()! + Foundation.log(slice.reduce(Float(0)) { $0 + Foundation.exp($1 - slice.max()!) })
                    for j in 0..<vocabulary { logits[row * vocabulary + j] -= shift }
                }
            }
            let priors = (0..<rowCount).map { row in
                row % beam == 1 && trial % 6 == 0 ? -Float.infinity : Float(Int(generator.next() % 4)) * -0.25
            }
            let prefixes = (0..<rowCount).map { row in (0..<(row % 4)).map { 4 + ($0 + row) % max(1, vocabulary - 4) } }
            let step = trial % 5
            let maxLength = trial % 7 == 3 ? step + 1 : 100
            let found = select(
                logits, vocabulary: vocabulary, priors: priors, beam: beam, search: search, step: step,
                maxLength: maxLength, prefixes: prefixes, normalized: normalized)
            for sentence in 0..<sentences {
                let expected = reference(
                    logits, vocabulary: vocabulary, priors: priors, rows: (sentence * beam)..<((sentence + 1) * beam),
                    count: min(2 * beam, beam * vocabulary), search: search, step: step, maxLength: maxLength,
                    prefixes: prefixes, normalized: normalized)
                #expect(
                    same(found[sentence], expected),
                    "trial \(trial) sentence \(sentence): \(found[sentence].map { ($0.row, $0.token, $0.score) }) vs \(expected.map { ($0.row, $0.token, $0.score) })"
                )
            }
        }
    }

    @Test("log-sum-exp of a row equals the log-softmax kernel's shift")
    func logSumExpMatches() {
        var generator = SplitMix64(seed: 3)
        for count in [1, 7, 8, 9, 64, 8000] {
            let row = (0..<count).map { _ in Float(Double(generator.next() % 10_000) / 500 - 10) }
            let maximum = row.max()!
            let expected = Double(maximum) + Foundation.log(row.reduce(0.0) { $0 + Foundation.exp(Double($1 - maximum)) })
            let found = row.withUnsafeBufferPointer { logSumExp($0.baseAddress!, count: count) }
            #expect(abs(Double(found) - expected) <= 1e-5 * max(1, abs(expected)), "\(count): \(found) vs \(expected)")
        }
    }
}

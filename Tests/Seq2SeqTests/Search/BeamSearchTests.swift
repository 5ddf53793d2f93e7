import Foundation
import Testing

@testable import Seq2Seq

/// Vocabulary of the scripted model: the four specials, then three words.
private let pad = 0, unk = 1, bos = 2, eos = 3, a = 4, b = 5, c = 6
private let vocabularySize = 7

/// A model whose next-token distribution is a fixed table keyed by (source, output prefix).
///
/// Probabilities not listed share what is left equally, so every table is a distribution.
private struct ScriptedDecoder: IncrementalDecoder {
    struct State {
        var sources: [[Int]]
        var prefixes: [[Int]]
        var steps = 0
    }

    let script: @Sendable (_ source: [Int], _ prefix: [Int]) -> [Int: Double]
    var vocabularySize: Int { 7 }

    func start(sources: [[Int]], copies: Int) -> State {
        State(
            sources: sources.flatMap { Array(repeating: $0, count: copies) },
            prefixes: Array(repeating: [], count: sources.count * copies))
    }

    func step(tokens: [Int], state: inout State) -> [Float] {
        precondition(tokens.count == state.prefixes.count)
        if state.steps > 0 {
            for row in tokens.indices { state.prefixes[row].append(tokens[row]) }
        } else {
            #expect(tokens.allSatisfy { $0 == eos }, "the first step feeds the start symbol")
        }
        state.steps += 1
        var out: [Float] = []
        for row in tokens.indices {
            let listed = script(state.sources[row], state.prefixes[row])
            let rest = (1 - listed.values.reduce(0, +)) / Double(vocabularySize - listed.count)
            for token in 0..<vocabularySize { out.append(Float(log(listed[token] ?? rest))) }
        }
        return out
    }

    func reorder(_ state: inout State, rows: [Int]) {
        state.sources = rows.map { state.sources[$0] }
        state.prefixes = rows.map { state.prefixes[$0] }
    }
}

private func options(
    beam: Int, lenpen: Double = 1, nBest: Int = 1, a: Double = 10, b: Double = 10
) -> DecodingOptions {
    var options = DecodingOptions()
    options.beamSize = beam
    options.lengthPenalty = lenpen
    options.nBest = nBest
    options.maxLengthA = a
    options.maxLengthB = b
    return options
}

private func search(
    _ script: @escaping @Sendable ([Int], [Int]) -> [Int: Double], _ options: DecodingOptions,
    sources: [[Int]] = [[a, eos]]
) -> [[Hypothesis]] {
    BeamSearch(options: options).search(ScriptedDecoder(script: script), sources: sources)
}

/// A garden path: greedy takes `a` (0.5) but every continuation of `a` is weak, while `b` (0.4)
/// is followed by EOS with 0.9.
@Sendable private func gardenPath(_ source: [Int], _ prefix: [Int]) -> [Int: Double] {
    switch prefix {
    case []: return [a: 0.5, b: 0.4, eos: 0.09]
    case [a]: return [a: 0.35, b: 0.35, eos: 0.28]
    case [b]: return [eos: 0.9, a: 0.09]
    default: return [eos: 0.97]
    }
}

@Suite("Beam search on a scripted model")
struct BeamSearchTests {
    @Test("beam 1 is greedy: the most probable token at each step")
    func greedy() {
        let result = search(gardenPath, options(beam: 1))
        // a (0.5), then a or b tie at 0.35: the lower id wins, then EOS (0.97).
        let logP = log(0.5) + log(0.35) + log(0.97)
        #expect(result[0].count == 1)
        #expect(result[0][0].tokens == [a, a])
        #expect(abs(Double(result[0][0].logProbability) - logP) < 1e-5)
        #expect(abs(result[0][0].score - logP / 3) < 1e-5)
    }

    @Test("beam 2 finds the better hypothesis greedy misses, n-best by hand")
    func beamTwo() {
        let result = search(gardenPath, options(beam: 2, nBest: 2))[0]
        // Step 0 keeps a (0.5) and b (0.4). Step 1 ranks b·EOS 0.36, a·a 0.175, a·b 0.175:
        // b·EOS is finished, a·a and a·b go on; step 2 finishes a·a·EOS (0.175·0.97), which makes
        // two finished hypotheses, so a·b·EOS is not collected.
        let expected: [(tokens: [Int], logP: Double)] = [
            ([b], log(0.4) + log(0.9)), ([a, a], log(0.5) + log(0.35) + log(0.97)),
        ]
        #expect(result.map(\.tokens) == expected.map(\.tokens))
        for (hypothesis, want) in zip(result, expected) {
            #expect(abs(Double(hypothesis.logProbability) - want.logP) < 1e-5)
            #expect(abs(hypothesis.score - want.logP / Double(want.tokens.count + 1)) < 1e-5)
        }
    }

    @Test("the length penalty changes the ranking as computed by hand")
    func lengthPenalty() {
        // Short: c·EOS = 0.3·1 = 0.3. Long: a·a·a·EOS = 0.6·0.6·0.6·0.5 = 0.108. Every other
        // continuation of c, a and a·a has probability 0 (pad and bos are banned anyway).
        @Sendable func script(_ source: [Int], _ prefix: [Int]) -> [Int: Double] {
            switch prefix {
            case []: return [a: 0.6, c: 0.3, eos: 0.0]
            case [c]: return [eos: 1.0]
            case [a], [a, a]: return [a: 0.6, eos: 0.0, c: 0.0, b: 0.0, unk: 0.0]
            default: return [eos: 0.5]
            }
        }
        let short = log(0.3), long = log(0.108)
        // lenpen 0: raw log-probabilities, the short one wins (−1.20 > −2.23).
        let raw = search(script, options(beam: 2, lenpen: 0, nBest: 2))[0]
        #expect(raw.map(\.tokens) == [[c], [a, a, a]])
        #expect(raw.count == 2 && abs(raw[0].score - short) < 1e-5 && abs(raw[1].score - long) < 1e-5)
        // lenpen 1: per-token averages, the long one wins (−2.23/4 = −0.56 > −1.20/2 = −0.60).
        let normalized = search(script, options(beam: 2, lenpen: 1, nBest: 2))[0]
        #expect(normalized.map(\.tokens) == [[a, a, a], [c]])
        #expect(normalized.count == 2 && abs(normalized[0].score - long / 4) < 1e-5)
        #expect(normalized.count == 2 && abs(normalized[1].score - short / 2) < 1e-5)
    }

    @Test("outputs stop at ⌊a·source length + b⌋ tokens, EOS included, where EOS is forced")
    func maxLength() {
        @Sendable func neverStops(_ source: [Int], _ prefix: [Int]) -> [Int: Double] {
            [a: 0.9, eos: 1e-6]
        }
        // Source of 3 tokens (EOS included), a = 1, b = 1: at most 4 tokens, so 3 words + EOS.
        for beam in [1, 3] {
            let result = search(neverStops, options(beam: beam, a: 1, b: 1), sources: [[b, c, eos]])
            #expect(result[0].first?.tokens == [a, a, a])
        }
        #expect(BeamSearch(options: options(beam: 1, a: 1.2, b: 10)).maxLength(sourceLength: 7) == 18)
    }

    @Test("minimum length bans EOS; pad and bos never come out; the unknown penalty applies")
    func bans() {
        @Sendable func script(_ source: [Int], _ prefix: [Int]) -> [Int: Double] {
            prefix.isEmpty ? [pad: 0.3, bos: 0.3, unk: 0.2, eos: 0.15, a: 0.05] : [eos: 0.9, unk: 0.09]
        }
        // Without bans on pad/bos the output would start with them. unk·EOS (0.18 over 2 tokens)
        // beats the empty output (EOS at once, 0.15 over 1 token).
        #expect(search(script, options(beam: 2))[0][0].tokens == [unk])
        // With the penalty unk drops out; on raw scores the empty output (0.15) beats a·EOS (0.045).
        var penalized = options(beam: 2, lenpen: 0)
        penalized.unknownPenalty = 10
        #expect(search(script, penalized)[0][0].tokens == [])
        #expect(search(script, options(beam: 2, lenpen: 0))[0][0].tokens == [unk])
        var atLeastTwo = options(beam: 2)
        atLeastTwo.minLength = 2
        let long = search(script, atLeastTwo)[0][0].tokens
        #expect(long.count >= 2)
        #expect(!long.contains(pad) && !long.contains(bos))
    }

    @Test("no-repeat n-gram blocks a second occurrence of any n-gram")
    func noRepeat() {
        @Sendable func loves(_ source: [Int], _ prefix: [Int]) -> [Int: Double] {
            prefix.count < 5 ? [a: 0.6, b: 0.3, eos: 0.05] : [eos: 0.9]
        }
        #expect(search(loves, options(beam: 1))[0][0].tokens == [a, a, a, a, a])
        var blocked = options(beam: 1)
        blocked.noRepeatNGramSize = 2
        // After a·a, a is banned (a·a seen): b. After a·a·b: a. After a·a·b·a both a (a·a) and
        // b (a·b) are banned, and EOS (0.05) beats the leftovers (0.0125 each).
        #expect(search(loves, blocked)[0][0].tokens == [a, a, b, a])
    }

    @Test("a batch gives the same hypotheses as one sentence at a time, in input order")
    func batchEqualsSingle() {
        // Each source has its own garden; sentences finish at different steps and leave the batch.
        @Sendable func perSource(_ source: [Int], _ prefix: [Int]) -> [Int: Double] {
            let length = source.count
            if prefix.count >= length { return [eos: 0.8, c: 0.1] }
            return prefix.count % 2 == 0 ? [a: 0.45, b: 0.35, eos: 0.1] : [b: 0.5, c: 0.3, eos: 0.15]
        }
        let sources = [[a, eos], [a, b, c, a, eos], [c, eos], [b, b, b, eos]]
        for beam in [1, 2, 4] {
            let batched = search(perSource, options(beam: beam, nBest: beam), sources: sources)
            let single = sources.map { search(perSource, options(beam: beam, nBest: beam), sources: [$0])[0] }
            #expect(batched == single)
            #expect(batched.allSatisfy { !$0.isEmpty })
        }
    }
}

import Foundation
@testable import Seq2Seq
import TestSupport
import Testing

// Properties that hold independently of the fixtures' numbers: batching, causality, beam reordering,
// state size, parameter counts (luna.md §3.2), and the model directory's round trip and errors.

@Suite("Model behaviour")
struct ModelBehaviourTests {
    @Test("a sentence scored alone equals its row in the padded batch", arguments: ParityFixture.all)
    func batchIndependence(fixture: ParityFixture) throws {
        let (model, expected) = try fixture.load()
        let inputs = try ParityInputs(expected)
        let pad = model.configuration.padId
        let batch = model.logProbabilities(source: inputs.source, previousOutput: inputs.previousOutput).value
        let (length, vocabulary) = (inputs.previousOutput.length, model.vocabularySize)
        for b in 0..<inputs.source.batchSize {
            let source = TokenBatch(rows: [inputs.source.row(b, padId: pad)], padId: pad)
            let decoderInput = Array(inputs.previousOutput.ids[(b * length)..<((b + 1) * length)])
            let targetLength = inputs.target.row(b, padId: pad).count
            let alone = model.logProbabilities(
                source: source, previousOutput: TokenBatch(ids: Array(decoderInput.prefix(targetLength)), batchSize: 1, length: targetLength)
            ).value
            var worst: Float = 0
            for t in 0..<targetLength {
                for v in 0..<vocabulary {
                    worst = max(worst, abs(alone.scalars[t * vocabulary + v] - batch.scalars[(b * length + t) * vocabulary + v]))
                }
            }
            #expect(worst <= 1e-5, "sentence \(b): max |diff| \(worst)")
        }
    }

    @Test("changing a later decoder input leaves earlier log-probabilities unchanged", arguments: ParityFixture.all)
    func noFutureLeak(fixture: ParityFixture) throws {
        let (model, expected) = try fixture.load()
        let inputs = try ParityInputs(expected)
        let before = model.logProbabilities(source: inputs.source, previousOutput: inputs.previousOutput).value
        var changed = inputs.previousOutput
        let cut = 3
        for b in 0..<changed.batchSize {
            for t in cut..<changed.length { changed.ids[b * changed.length + t] = 4 + (b + 7 * t) % 30 }
        }
        let after = model.logProbabilities(source: inputs.source, previousOutput: changed).value
        let difference = maximumDifference(before, after) { _, t in t < cut }
        #expect(difference <= 1e-6, "positions before \(cut) moved by \(difference)")
        #expect(maximumDifference(before, after) { _, t in t == cut } > 1e-3)
    }

    @Test("reordered incremental state equals a fresh state of the reordered sources", arguments: ParityFixture.all)
    func reorder(fixture: ParityFixture) throws {
        let (model, expected) = try fixture.load()
        let inputs = try ParityInputs(expected)
        let pad = model.configuration.padId
        let sources = (0..<inputs.source.batchSize).map { inputs.source.row($0, padId: pad) }
        let history = [[3, 3, 3], [5, 9, 11], [7, 8, 6]]  // tokens fed per step, one per row
        let rows = [2, 0, 0, 1]
        var state = model.start(sources: sources, copies: 1)
        _ = model.step(tokens: history[0], state: &state)
        _ = model.step(tokens: history[1], state: &state)
        model.reorder(&state, rows: rows)
        let reordered = model.step(tokens: rows.map { history[2][$0] }, state: &state)

        var fresh = model.start(sources: rows.map { sources[$0] }, copies: 1)
        _ = model.step(tokens: rows.map { history[0][$0] }, state: &fresh)
        _ = model.step(tokens: rows.map { history[1][$0] }, state: &fresh)
        let direct = model.step(tokens: rows.map { history[2][$0] }, state: &fresh)
        let worst = zip(reordered, direct).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-5, "max |diff| \(worst)")
    }

    @Test("reordering hypotheses within their sentences equals decoding the reordered histories", arguments: ParityFixture.all)
    func reorderWithinSentences(fixture: ParityFixture) throws {
        let (model, _) = try fixture.load()
        let sources = [[5, 6, 7, 8, 9, 3], [10, 11, 3]]
        // Two hypotheses per sentence, rows source-major; the second step's tokens differ per row.
        let first = [3, 3, 3, 3]
        let second = [12, 13, 14, 15]
        let rows = [1, 1, 3, 2]  // sentence 0 keeps its second hypothesis twice; sentence 1 swaps
        var state = model.start(sources: sources, copies: 2)
        _ = model.step(tokens: first, state: &state)
        _ = model.step(tokens: second, state: &state)
        model.reorder(&state, rows: rows)
        #expect(state.rowSources == [0, 0, 1, 1])
        let reordered = model.step(tokens: [16, 17, 18, 19], state: &state)

        var fresh = model.start(sources: sources, copies: 2)
        _ = model.step(tokens: first, state: &fresh)
        _ = model.step(tokens: rows.map { second[$0] }, state: &fresh)
        let direct = model.step(tokens: [16, 17, 18, 19], state: &fresh)
        let worst = zip(reordered, direct).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-5, "max |diff| \(worst)")
    }

    @Test("copies of a source start alike")
    func copies() throws {
        let (model, _) = try ParityFixture.all[0].load()
        var state = model.start(sources: [[5, 6, 7, 3], [8, 3]], copies: 3)
        #expect(state.rowCount == 6)
        let row = model.step(tokens: [3, 3, 3, 3, 3, 3], state: &state)
        let v = model.vocabularySize
        // Equal up to rounding: BLAS kernels may sum a row differently depending on its place in the block.
        func difference(_ a: Int, _ b: Int) -> Float {
            (0..<v).map { abs(row[a * v + $0] - row[b * v + $0]) }.max()!
        }
        #expect(difference(0, 2) <= 1e-5)
        #expect(difference(3, 5) <= 1e-5)
        #expect(difference(0, 3) > 1e-3)
    }

    @Test("causal Luna state stays O(L·d) per row however many steps are decoded")
    func lunaStateSize() throws {
        let (model, _) = try ParityFixture.all[0].load()
        var state = model.start(sources: [[5, 6, 7, 8, 9, 10, 11, 3]], copies: 2)
        for _ in 0..<20 { _ = model.step(tokens: [9, 9], state: &state) }
        let c = model.configuration
        let l = min(c.projectionLength, 8)
        for layer in state.causalStates {
            #expect(layer.keySum.shape == [2, c.attentionHeads, c.headDimension, l])
            #expect(layer.valueSum.shape == [2, c.attentionHeads, l, c.headDimension])
            #expect(layer.steps == 20)
        }
        #expect(state.caches.isEmpty)
    }

    /// luna.md §3.2: per-layer parameter counts at d = 512, FFN 2048, 8 heads.
    @Test("parameter counts of the WMT-sized layers")
    func parameterCounts() {
        var c = ModelConfiguration(
            arch: .luna, vocabularySize: 8, modelDimension: 512, encoderLayers: 1, decoderLayers: 1, attentionHeads: 8,
            ffnDimension: 2048)
        var generator = SplitMix64(seed: 1)
        #expect(LunaEncoderLayer(c, generator: &generator).parameterCount == 3_416_064)
        #expect(LunaDecoderLayer(c, generator: &generator).parameterCount == 4_730_368)
        c.tieKeyValue = false
        #expect(LunaEncoderLayer(c, generator: &generator).parameterCount == 3_941_376)
        #expect(LunaDecoderLayer(c, generator: &generator).parameterCount == 5_518_336)
        c.arch = .transformer
        #expect(TransformerEncoderLayer(c, generator: &generator).parameterCount == 3_152_384)
        #expect(TransformerDecoderLayer(c, generator: &generator).parameterCount == 4_204_032)
    }

    @Test("a fresh model has exactly the fixture's tensor names and shapes", arguments: ParityFixture.all)
    func freshModelNames(fixture: ParityFixture) throws {
        let (loaded, _) = try fixture.load()
        let fresh = EncoderDecoder(loaded.configuration, seed: 7)
        let freshShapes = Dictionary(uniqueKeysWithValues: fresh.parameters(prefix: "").map { ($0.name, $0.parameter.shape) })
        let loadedShapes = Dictionary(uniqueKeysWithValues: loaded.parameters(prefix: "").map { ($0.name, $0.parameter.shape) })
        #expect(freshShapes == loadedShapes)
        // fairseq zeroes the pad row of the fresh embedding.
        let d = loaded.configuration.modelDimension
        let pad = loaded.configuration.padId
        #expect(fresh.embed_tokens.weight.value.scalars[(pad * d)..<((pad + 1) * d)].allSatisfy { $0 == 0 })
    }
}

import Foundation
import Seq2Seq
import TestSupport
import Testing

// Every combination of the Luna options (the fixtures pin down two of them), checked for the properties
// that must hold whatever the weights: incremental = parallel, batch independence, and the fixed
// projection length.

/// One Luna option combination.
struct LunaOptions: CustomStringConvertible, Sendable {
    var normalizeBefore: Bool
    var tieKeyValue: Bool
    var activation: ModelConfiguration.CausalActivation
    var crossAttention: ModelConfiguration.CrossAttention
    var dynamicProjection = true

    var description: String {
        [
            normalizeBefore ? "pre" : "post", tieKeyValue ? "tied" : "untied", activation.rawValue,
            "\(crossAttention.rawValue)-cross", dynamicProjection ? "dynamic" : "fixed",
        ].joined(separator: " ")
    }

    static let all: [LunaOptions] = [false, true].flatMap { pre in
        [false, true].flatMap { tie in
            [ModelConfiguration.CausalActivation.softplus, .elu].flatMap { activation in
                [ModelConfiguration.CrossAttention.luna, .softmax].map { cross in
                    LunaOptions(normalizeBefore: pre, tieKeyValue: tie, activation: activation, crossAttention: cross)
                }
            }
        }
    }

    /// A small random model with these options (pack heads ≠ heads, so both scales are exercised).
    func model(dynamicProjection: Bool? = nil) -> EncoderDecoder {
        var c = ModelConfiguration(
            arch: .luna, vocabularySize: 30, modelDimension: 16, encoderLayers: 2, decoderLayers: 2, attentionHeads: 2,
            packHeads: 4, ffnDimension: 32, projectionLength: 4)
        c.normalizeBefore = normalizeBefore
        c.tieKeyValue = tieKeyValue
        c.causalActivation = activation
        c.crossAttention = crossAttention
        c.dynamicProjection = dynamicProjection ?? self.dynamicProjection
        c.dropout = 0.1  // off at inference: nothing here runs on a training tape
        return EncoderDecoder(c, seed: 5)
    }
}

@Suite("Model options")
struct ModelOptionTests {
    static let sources = [[5, 9, 14, 22, 7, 11, 3], [8, 17, 3], [29, 4, 12, 6, 3]]
    static let decoderInput = [[3, 6, 10, 21, 13, 8], [3, 19, 5, 27, 16, 9], [3, 28, 15, 4, 11, 20]]

    @Test("incremental decoding equals the parallel forward", arguments: LunaOptions.all)
    func incremental(options: LunaOptions) {
        let model = options.model()
        let parallel = model.logProbabilities(
            source: TokenBatch(rows: Self.sources, padId: 0), previousOutput: TokenBatch(rows: Self.decoderInput, padId: 0)
        ).value
        var state = model.start(sources: Self.sources, copies: 1)
        let (length, vocabulary) = (Self.decoderInput[0].count, model.vocabularySize)
        var worst: Float = 0
        for t in 0..<length {
            let row = model.step(tokens: Self.decoderInput.map { $0[t] }, state: &state)
            for b in 0..<Self.sources.count {
                for v in 0..<vocabulary {
                    worst = max(worst, abs(row[b * vocabulary + v] - parallel.scalars[(b * length + t) * vocabulary + v]))
                }
            }
        }
        #expect(worst <= 1e-5, "max |diff| \(worst)")
    }

    @Test("each sentence alone equals its row in the batch", arguments: LunaOptions.all)
    func batchIndependence(options: LunaOptions) {
        let model = options.model()
        let batch = model.logProbabilities(
            source: TokenBatch(rows: Self.sources, padId: 0), previousOutput: TokenBatch(rows: Self.decoderInput, padId: 0)
        ).value
        for (b, source) in Self.sources.enumerated() {
            let alone = model.logProbabilities(
                source: TokenBatch(rows: [source], padId: 0), previousOutput: TokenBatch(rows: [Self.decoderInput[b]], padId: 0)
            ).value
            let offset = b * alone.count
            let worst = (0..<alone.count).map { abs(alone.scalars[$0] - batch.scalars[offset + $0]) }.max()!
            #expect(worst <= 1e-5, "sentence \(b): max |diff| \(worst)")
        }
    }

    @Test("fixed projection length: L = l unmasked, equal to dynamic when every source has ≥ l tokens")
    func fixedProjection() {
        let options = LunaOptions.all[0]
        let fixed = options.model(dynamicProjection: false)
        let dynamic = options.model(dynamicProjection: true)
        let short = fixed.encode(TokenBatch(rows: [[8, 3]], padId: 0), on: nil)
        #expect(short.projected?.shape == [1, 4, 16])
        #expect(short.packedMask == nil)
        #expect(dynamic.encode(TokenBatch(rows: [[8, 3]], padId: 0), on: nil).projected?.shape == [1, 2, 16])
        let long = [Self.sources[0], Self.sources[2]]  // 7 and 5 tokens, l = 4
        let input = TokenBatch(rows: [Self.decoderInput[0], Self.decoderInput[2]], padId: 0)
        let a = fixed.logProbabilities(source: TokenBatch(rows: long, padId: 0), previousOutput: input).value
        let b = dynamic.logProbabilities(source: TokenBatch(rows: long, padId: 0), previousOutput: input).value
        #expect(zip(a.scalars, b.scalars).map { abs($0 - $1) }.max()! <= 1e-6)
    }
}

import Foundation
import Seq2Seq
import TestSupport
import Testing

// The fixtures' greedy and beam-3 outputs, reproduced by our model under the package's BeamSearch
// (max length ⌊1.0·n + 4⌋, length penalty 1.0; see the fixture README's "Greedy" and "Beam").

@Suite("Model search outputs against the PyTorch reference fixtures")
struct ModelSearchParityTests {
    /// Row `b` of an `I64` `[B, K]` tensor, cut to `lengths[b]`.
    func outputs(_ expected: SafeTensors, _ name: String) throws -> [[Int]] {
        let (shape, values) = try expected.integers(name + ".tokens")
        let lengths = try expected.integers(name + ".lengths").values
        return (0..<shape[0]).map { b in Array(values[(b * shape[1])..<(b * shape[1] + lengths[b])]) }
    }

    func sources(_ expected: SafeTensors, padId: Int) throws -> [[Int]] {
        let source = try ParityInputs(expected).source
        return (0..<source.batchSize).map { source.row($0, padId: padId) }
    }

    @Test("greedy outputs", arguments: ParityFixture.all)
    func greedy(fixture: ParityFixture) throws {
        let (model, expected) = try fixture.load()
        var options = DecodingOptions()
        options.beamSize = 1
        options.maxLengthA = 1
        options.maxLengthB = 4
        let search = BeamSearch(options: options)
        let sources = try sources(expected, padId: model.configuration.padId)
        #expect(sources.map { search.maxLength(sourceLength: $0.count) } == (try expected.integers("search.max_len").values))
        let found = search.search(model, sources: sources).map { $0[0].tokens }
        #expect(found == (try outputs(expected, "greedy")))
    }

    @Test("beam-3 outputs and their scores", arguments: ParityFixture.all)
    func beam(fixture: ParityFixture) throws {
        let (model, expected) = try fixture.load()
        var options = DecodingOptions()
        options.beamSize = 3
        options.lengthPenalty = 1
        options.maxLengthA = 1
        options.maxLengthB = 4
        let found = BeamSearch(options: options).search(model, sources: try sources(expected, padId: model.configuration.padId))
        #expect(found.map { $0[0].tokens } == (try outputs(expected, "beam3")))
        let scores = try expected.tensor("beam3.scores").scalars
        for (hypotheses, score) in zip(found, scores) {
            #expect(abs(Double(hypotheses[0].score) - Double(score)) <= 1e-4, "beam score \(hypotheses[0].score) vs \(score)")
        }
    }
}

import Foundation
import Seq2Seq
import TestSupport
import Testing

// `translate score` and `translate info`, run as the built tool on the parity fixtures.

@Suite("translate score and info")
struct ScoreInfoCommandTests {
    static let fixture = sharedRoot.appendingPathComponent("fixtures/luna-parity/luna_official").path

    /// The fixture's sources and targets as id lines without EOS, and the expected total log-probabilities
    /// summed from its `decoder.lprobs` (the reference's teacher-forced log-probabilities).
    static func fixturePairs() throws -> (sources: String, targets: String, expected: [(Double, Int)]) {
        let expected = try SafeTensors(contentsOf: fixture + "/expected.safetensors")
        let (sourceShape, sourceIds) = try expected.integers("input.src_tokens")
        let (targetShape, targetIds) = try expected.integers("input.target")
        let lprobs = try expected.tensor("decoder.lprobs")
        let vocabulary = lprobs.shape[2]
        var sources = ""
        var targets = ""
        var scores: [(Double, Int)] = []
        for b in 0..<sourceShape[0] {
            let source = sourceIds[(b * sourceShape[1])..<((b + 1) * sourceShape[1])].prefix { $0 != 0 }
            let target = Array(targetIds[(b * targetShape[1])..<((b + 1) * targetShape[1])].prefix { $0 != 0 })
            sources += source.dropLast().map(String.init).joined(separator: " ") + "\n"  // without EOS
            targets += target.dropLast().map(String.init).joined(separator: " ") + "\n"
            var total = 0.0
            for (t, token) in target.enumerated() {
                total += Double(lprobs.scalars[(b * targetShape[1] + t) * vocabulary + token])
            }
            scores.append((total, target.count))
        }
        return (sources, targets, scores)
    }

    @Test("score prints each pair's total log-probability and token count")
    func score() throws {
        let (sources, targets, expected) = try Self.fixturePairs()
        let folder = try TemporaryDirectory()
        let result = try runTool("translate", [
            "score", "--model", Self.fixture, "-s", try folder.write("src", sources), "-t", try folder.write("tgt", targets),
            "--input-format", "id", "--max-tokens", "10",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n")
        try #require(lines.count == expected.count)
        for (line, (total, count)) in zip(lines, expected) {
            let fields = line.split(separator: "\t")
            try #require(fields.count == 2, "\(line)")
            #expect(abs(Double(fields[0])! - total) <= 1e-4, "\(line) vs \(total)")
            #expect(Int(fields[1]) == count)
        }
    }

    @Test("text input scores as its SentencePiece ids do (Debian's spm_encode as the reference)")
    func textMatchesIds() throws {
        let folder = try TemporaryDirectory()
        let directory = folder.url.appendingPathComponent("model").path
        let spm = sharedRoot.appendingPathComponent("reference/spm8k.model").path
        var configuration = ModelConfiguration(
            arch: .luna, vocabularySize: 8000, modelDimension: 16, encoderLayers: 1, decoderLayers: 1, attentionHeads: 2,
            ffnDimension: 32, projectionLength: 4)
        configuration.dropout = 0
        try ModelDirectory.save(EncoderDecoder(configuration, seed: 2), to: directory)
        try FileManager.default.copyItem(atPath: spm, toPath: directory + "/spm.model")
        func firstLines(_ name: String) throws -> String {
            let text = try String(contentsOf: sharedData("multi30k/" + name), encoding: .utf8)
            return text.split(separator: "\n").prefix(6).joined(separator: "\n") + "\n"
        }
        let source = try folder.write("src.txt", try firstLines("test2016.en"))
        let target = try folder.write("tgt.txt", try firstLines("test2016.de"))
        func ids(_ path: String) throws -> String {
            let result = try runProcess(
                URL(fileURLWithPath: "/usr/bin/spm_encode"), ["--model", spm, "--output_format", "id"],
                input: try Data(contentsOf: URL(fileURLWithPath: path)))
            try #require(result.status == 0, "\(result.standardError)")
            return try folder.write((path as NSString).lastPathComponent + ".ids", result.standardOutput)
        }
        let text = try runTool("translate", ["score", "--model", directory, "-s", source, "-t", target])
        let idResult = try runTool(
            "translate", ["score", "--model", directory, "-s", try ids(source), "-t", try ids(target), "--input-format", "id"])
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.standardOutput.split(separator: "\n").count == 6)
        #expect(text.standardOutput == idResult.standardOutput)
        let info = try runTool("translate", ["info", "--model", directory])
        #expect(info.standardOutput.contains("vocabulary: 8000 (pad 0, unk 1, bos 2, eos 3), spm.model present"))
    }

    @Test("score errors name the file and line")
    func scoreErrors() throws {
        let folder = try TemporaryDirectory()
        let good = try folder.write("good", "5 6\n")
        let outside = try folder.write("outside", "5 40\n")
        var result = try runTool("translate", ["score", "--model", Self.fixture, "-s", good, "-t", outside, "--input-format", "id"])
        #expect(result.status == 1)
        #expect(result.standardError == "error: \(outside):1: '40' is not an id in 0..<40\n")
        let twoLines = try folder.write("two", "5 6\n7\n")
        result = try runTool("translate", ["score", "--model", Self.fixture, "-s", good, "-t", twoLines, "--input-format", "id"])
        #expect(result.status == 1)
        #expect(result.standardError.contains("has 1 lines but"))
        result = try runTool("translate", ["score", "--model", Self.fixture, "-s", good, "-t", good])
        #expect(result.status == 1)
        #expect(result.standardError.contains("spm.model: no such file"))
    }

    @Test("info describes the architecture and counts parameters per module")
    func info() throws {
        let result = try runTool("translate", ["info", "--model", Self.fixture])
        #expect(result.status == 0, "\(result.standardError)")
        let text = result.standardOutput
        #expect(text.contains("architecture: luna, post-norm, tied keys/values, causal softplus (beta ln 2), luna cross-attention"))
        #expect(text.contains("vocabulary: 40 (pad 0, unk 1, bos 2, eos 3), no spm.model"))
        // 40·16 embedding + 4·16 P table + 2 encoder layers of 2,528 + 2 decoder layers of 3,920.
        #expect(text.contains("parameters: 13,600\n"))
        #expect(text.contains("  encoder.layers.1                     2,528\n"))
        let missing = try runTool("translate", ["info", "--model", "/nonexistent"])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("/nonexistent/config.json"))
    }
}

import Foundation
import Seq2Seq
import TestSupport
import Testing

@testable import translate

// `translate decode` and the stdin stream, run as the built tool on a real (randomly initialised) model
// directory with the shared SentencePiece model, plus the batching and formatting pieces in-process.

/// A model directory in a temporary folder: a small Luna with the shared spm8k.model.
private final class ModelFixture: @unchecked Sendable {
    let folder: TemporaryDirectory
    let directory: String
    static let sentencePiece = sharedRoot.appendingPathComponent("reference/spm8k.model").path

    init(maxPositions: Int = 1024, vocabularySize: Int = 8000, withSentencePiece: Bool = true) throws {
        folder = try TemporaryDirectory()
        directory = folder.path("model")
        var configuration = ModelConfiguration(
            arch: .luna, vocabularySize: vocabularySize, modelDimension: 16, encoderLayers: 1, decoderLayers: 1,
            attentionHeads: 2, ffnDimension: 32, projectionLength: 4)
        configuration.dropout = 0
        configuration.attentionDropout = 0
        configuration.activationDropout = 0
        configuration.maxPositions = maxPositions
        try ModelDirectory.save(EncoderDecoder(configuration, seed: 7), to: directory)
        if withSentencePiece {
            try FileManager.default.copyItem(atPath: Self.sentencePiece, toPath: directory + "/spm.model")
        }
    }

    /// Runs `translate decode --model DIR` with short outputs (so a debug build stays quick).
    func decode(_ extra: [String], input: String? = nil) throws -> ToolResult {
        try runTool(
            "translate", ["decode", "--model", directory, "--max-len-a", "0.5", "--max-len-b", "6"] + extra,
            input: input.map { Data($0.utf8) })
    }
}

/// The first `count` English sentences of Multi30k test2016.
private func testSentences(_ count: Int) throws -> [String] {
    let text = try String(contentsOf: sharedData("multi30k/test2016.en"), encoding: .utf8)
    return Array(text.split(separator: "\n").prefix(count).map(String.init))
}

private func lines(_ text: String) -> [String] {
    var parts = text.components(separatedBy: "\n")
    if parts.last == "" { parts.removeLast() }
    return parts
}

@Suite("translate decode")
struct DecodeCommandTests {
    @Test("batched decoding (by sentences or by tokens) equals decoding one sentence per process, in input order")
    func batchEqualsOneByOne() throws {
        let model = try ModelFixture()
        let sentences = try testSentences(9)
        let file = try model.folder.write("in.txt", sentences.joined(separator: "\n") + "\n")
        let batched = try model.decode(["-i", file, "--batch-size", "4", "--nbest", "2"])
        #expect(batched.status == 0, "\(batched.standardError)")
        let byTokens = try model.decode(["-i", file, "--max-tokens", "40", "--nbest", "2"])
        expectSameHypotheses(byTokens.standardOutput, batched.standardOutput, count: 18)
        var alone = ""
        for (index, sentence) in sentences.enumerated() {
            let one = try model.decode(["--nbest", "2"], input: sentence + "\n")
            #expect(one.status == 0, "\(one.standardError)")
            // Same hypotheses and scores; the n-best id counts lines of the input given.
            alone += one.standardOutput.replacingOccurrences(of: "0 ||| ", with: "\(index) ||| ")
        }
        expectSameHypotheses(batched.standardOutput, alone, count: 18)
        // Reversed input gives reversed output.
        let reversed = try model.folder.write("rev.txt", sentences.reversed().joined(separator: "\n") + "\n")
        let plain = try model.decode(["-i", file])
        let plainReversed = try model.decode(["-i", reversed, "--batch-size", "3"])
        #expect(lines(plain.standardOutput).count == 9)
        #expect(lines(plainReversed.standardOutput) == lines(plain.standardOutput).reversed())
        // Outputs differ from sentence to sentence (the check above could not pass by accident).
        #expect(Set(lines(plain.standardOutput)).count > 1)
    }

    @Test("in a pipe every line is answered before the next one is written")
    func streaming() throws {
        let model = try ModelFixture()
        let sentences = try testSentences(3) + [""] + (try testSentences(5).suffix(2))
        let expected = try model.decode([], input: sentences.joined(separator: "\n") + "\n")
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent("translate")
        process.arguments = ["--model", model.directory, "--max-len-a", "0.5", "--max-len-b", "6", "-b", "3"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var answers: [String] = []
        var pending: [UInt8] = []
        for sentence in sentences {
            input.fileHandleForWriting.write(Data((sentence + "\n").utf8))
            let answer = try #require(
                readLine(output.fileHandleForReading.fileDescriptor, buffer: &pending, timeout: 120),
                "no answer to '\(sentence)' while stdin stays open")
            answers.append(answer)
        }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let beam3 = try model.decode(["-b", "3"], input: sentences.joined(separator: "\n") + "\n")
        #expect(answers == lines(beam3.standardOutput))
        #expect(answers[3] == "")
        #expect(lines(expected.standardOutput).count == sentences.count)
    }

    @Test("an empty line gives an empty line; invalid UTF-8 an empty line and a warning naming it")
    func emptyAndInvalidLines() throws {
        let model = try ModelFixture()
        let sentences = try testSentences(2)
        var bytes = Data((sentences[0] + "\n\n").utf8)
        bytes += Data([0x41, 0xC3, 0x28, 0x0A])
        bytes += Data((sentences[1] + "\n").utf8)
        let result = try runTool(
            "translate", ["--model", model.directory, "--max-len-a", "0.5", "--max-len-b", "6"], input: bytes)
        #expect(result.status == 0)
        #expect(result.standardError == "warning: line 3: invalid UTF-8; wrote an empty line\n")
        let out = lines(result.standardOutput)
        try #require(out.count == 4)
        #expect(out[1] == "" && out[2] == "")
        let clean = try model.decode([], input: sentences.joined(separator: "\n") + "\n")
        #expect([out[0], out[3]] == lines(clean.standardOutput))
        #expect(!out[0].isEmpty)

        let json = try runTool(
            "translate", ["--model", model.directory, "--max-len-b", "6", "--format", "jsonl"], input: bytes)
        let objects = try lines(json.standardOutput).map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        try #require(objects.count == 4)
        #expect(objects[2]["error"] as? String == "invalid UTF-8")
        #expect(objects[1]["translation"] as? String == "" && objects[1]["error"] == nil)
    }

    @Test("a source longer than max_positions is truncated with a warning, or refused with --strict")
    func longLines() throws {
        let model = try ModelFixture(maxPositions: 8)
        let input = "A dog.\nA man in an orange hat starring at something.\nA cat.\n"
        let truncated = try model.decode([], input: input)
        #expect(truncated.status == 0)
        #expect(truncated.standardError.hasPrefix("warning: line 2: "))
        #expect(truncated.standardError.contains("pieces, truncated to 7, the model's max_positions 8 minus EOS"))
        #expect(lines(truncated.standardOutput).count == 3)

        let strict = try model.decode(["--strict"], input: input)
        #expect(strict.status == 1)
        #expect(strict.standardError.hasPrefix("error: line 2: "))
        #expect(strict.standardError.hasSuffix("pieces, more than the model's max_positions 8 minus EOS (--strict)\n"))
        #expect(!strict.standardError.contains("\n") || strict.standardError.split(separator: "\n").count == 1)
    }

    @Test("output formats: plain, score, n-best, JSON lines, pieces, sentence splitting; -o writes the same")
    func formats() throws {
        let model = try ModelFixture()
        let sentences = try testSentences(3)
        let file = try model.folder.write("in.txt", sentences.joined(separator: "\n") + "\n")
        let common = ["-i", file, "-b", "3", "--unk-penalty", "100"]
        let plain = lines(try model.decode(common).standardOutput)
        try #require(plain.count == 3)

        let scored = lines(try model.decode(common + ["--with-score"]).standardOutput)
        try #require(scored.count == 3)
        for (line, text) in zip(scored, plain) {
            let fields = line.components(separatedBy: " ||| ")
            #expect(fields.count == 2 && fields[1] == text)
            #expect(Double(fields[0]).map { $0 < 0 } == true, "\(line)")
        }

        let json = lines(try model.decode(common + ["--format", "jsonl", "--nbest", "3"]).standardOutput)
        let nbest = lines(try model.decode(common + ["--nbest", "3"]).standardOutput)
        try #require(json.count == 3 && nbest.count == 9)
        for (index, line) in json.enumerated() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["id"] as? Int == index)
            #expect(object["translation"] as? String == plain[index])
            let list = try #require(object["nbest"] as? [[String: Any]])
            #expect(list.count == 3)
            var previous = Double.infinity
            for (rank, hypothesis) in list.enumerated() {
                let score = try #require(hypothesis["score"] as? Double)
                let logProbability = try #require(hypothesis["log_probability"] as? Double)
                let tokens = try #require(hypothesis["tokens"] as? Int)
                // lenpen 1: score = logprob / (pieces + EOS).
                #expect(abs(score - logProbability / Double(tokens + 1)) <= 1e-5)
                #expect(score <= previous)
                previous = score
                let fields = nbest[index * 3 + rank].components(separatedBy: " ||| ")
                #expect(fields == [
                    "\(index)", hypothesis["translation"] as! String, "F0=" + scoreText(logProbability), scoreText(score),
                ])
            }
        }

        let pieces = lines(try model.decode(common + ["--output-pieces"]).standardOutput)
        try #require(pieces.count == 3)
        for (line, text) in zip(pieces, plain) {
            #expect(line.contains("▁"))
            let joined = line.replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "▁", with: " ")
            #expect(joined.trimmingCharacters(in: .whitespaces) == text)
        }

        let paragraph = sentences[0] + "  " + sentences[1]
        let split = try model.decode(["-b", "3", "--split-sentences", "--source-lang", "en"], input: paragraph + "\n")
        #expect(split.status == 0, "\(split.standardError)")
        #expect(lines(split.standardOutput) == [plain[0] + "  " + plain[1]])

        let outputPath = model.folder.path("out.txt")
        let written = try model.decode(common + ["-o", outputPath])
        #expect(written.status == 0 && written.standardOutput.isEmpty)
        #expect(try String(contentsOfFile: outputPath, encoding: .utf8) == plain.joined(separator: "\n") + "\n")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: model.folder.url.path)
        #expect(!leftovers.contains { $0.contains(".tmp-") })
    }

    @Test("bad model directories and flags: one error line each")
    func badInput() throws {
        let folder = try TemporaryDirectory()
        let missing = folder.path("nowhere")
        let none = try runTool("translate", ["decode", "--model", missing], input: Data("Hi.\n".utf8))
        #expect(none.status == 1 && none.standardError == "error: \(missing): no such model directory\n")

        let incomplete = try ModelFixture()
        try FileManager.default.removeItem(atPath: incomplete.directory + "/model.safetensors")
        let noWeights = try incomplete.decode([], input: "Hi.\n")
        #expect(noWeights.status == 1)
        #expect(noWeights.standardError.hasPrefix("error: \(incomplete.directory)/model.safetensors: "))
        #expect(noWeights.standardError.split(separator: "\n").count == 1)

        let noPieces = try ModelFixture(withSentencePiece: false)
        let noSpm = try noPieces.decode([], input: "Hi.\n")
        #expect(noSpm.status == 1 && noSpm.standardError == "error: \(noPieces.directory)/spm.model: no such file\n")

        let otherVocabulary = try ModelFixture(vocabularySize: 7000)
        let mismatch = try otherVocabulary.decode([], input: "Hi.\n")
        #expect(mismatch.status == 1)
        #expect(mismatch.standardError
            == "error: \(otherVocabulary.directory)/spm.model has 8000 pieces but the model's vocab_size is 7000\n")

        let model = try ModelFixture()
        let beam = try model.decode(["-b", "0"], input: "")
        #expect(beam.status == 64 && beam.standardError.hasPrefix("error: --beam must be an integer from 1 to 256, got '0'\n"))
        let nbest = try model.decode(["--nbest", "6"], input: "")
        #expect(nbest.status == 64 && nbest.standardError.hasPrefix("error: --nbest must be an integer from 1 to 5, got '6'\n"))
        let input = try model.decode(["-i", folder.path("absent.txt")])
        #expect(input.status == 1 && input.standardError == "error: \(folder.path("absent.txt")): no such file\n")
        // An output that cannot be written fails before the model is even read, not after translating.
        let output = folder.path("absent/out.de")
        let unwritable = try runTool("translate", ["decode", "--model", missing, "-o", output], input: Data("Hi.\n".utf8))
        #expect(unwritable.status == 1 && unwritable.standardError == "error: \(output): cannot create (is the folder writable?)\n")
        let intoFolder = try model.decode(["-o", folder.url.path], input: "Hi.\n")
        #expect(intoFolder.status == 1 && intoFolder.standardError == "error: \(folder.url.path): is a directory\n")

        // No --model: the shipped model, or one line saying none ships yet.
        if !FileManager.default.fileExists(atPath: packageRoot.appendingPathComponent("data/model").path) {
            let shipped = try runTool("translate", [], input: Data("Hi.\n".utf8), currentDirectory: folder.url)
            #expect(shipped.status == 1)
            #expect(shipped.standardError == "error: no model ships with this build yet (no data/model in the package); pass --model DIR\n")
        } else {
            // The shipped EN→DE model loads and translates: "man" and "dog" have one German word each.
            let shipped = try runTool(
                "translate", ["--beam", "1"], input: Data("A man is walking.\nA dog is running.\n".utf8),
                currentDirectory: folder.url)
            #expect(shipped.status == 0)
            let german = lines(shipped.standardOutput)
            #expect(german.count == 2)
            #expect(german.first?.contains("Mann") == true)
            #expect(german.last?.contains("Hund") == true)
        }
    }

    @Test("batches respect both limits and keep length order")
    func batchLimits() {
        let lengths = [5, 3, 9, 3, 4, 20]
        let order = lengths.indices.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
        #expect(BatchLimits(sentences: 2, tokens: nil).batches(of: order, lengths: lengths) == [[1, 3], [4, 0], [2, 5]])
        // 3·3 = 9, then 4·3 = 12 > 10: a new batch; 20 alone exceeds the limit but still gets a batch.
        #expect(BatchLimits(sentences: 10, tokens: 10).batches(of: order, lengths: lengths) == [[1, 3], [4, 0], [2], [5]])
    }
}

/// Two n-best outputs with the same ids and texts, line by line, and scores equal up to float rounding
/// (batches of other shapes sum in another order).
private func expectSameHypotheses(_ a: String, _ b: String, count: Int) {
    let linesA = lines(a), linesB = lines(b)
    #expect(linesA.count == count && linesB.count == count)
    for (lineA, lineB) in zip(linesA, linesB) {
        let fa = lineA.components(separatedBy: " ||| "), fb = lineB.components(separatedBy: " ||| ")
        #expect(fa.count == 4 && fb.count == 4)
        #expect(fa[0] == fb[0] && fa[1] == fb[1], "\(lineA) vs \(lineB)")
        #expect(abs((Double(fa[3]) ?? 0) - (Double(fb[3]) ?? 1)) <= 1e-4, "\(lineA) vs \(lineB)")
    }
}

/// Reads one `\n`-terminated line from `descriptor`, waiting at most `timeout` seconds; nil on timeout or EOF.
private func readLine(_ descriptor: Int32, buffer: inout [UInt8], timeout: Double) -> String? {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if let newline = buffer.firstIndex(of: 0x0A) {
            let line = String(decoding: buffer[..<newline], as: UTF8.self)
            buffer.removeSubrange(...newline)
            return line
        }
        let remaining = deadline.timeIntervalSinceNow
        if remaining <= 0 { return nil }
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&request, 1, Int32(remaining * 1000)) > 0 else { return nil }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count <= 0 { return nil }
        buffer += chunk[0..<count]
    }
}

import Foundation
import TestSupport
import Testing

/// `translate spm-train`, `spm-encode` and `spm-decode` end to end, against Debian's `spm_train`,
/// `spm_encode` and `spm_decode` as the independent reference.
@Suite("translate spm-* commands")
struct SpmCommandTests {
    static let model = sharedRoot.appendingPathComponent("reference/spm8k.model").path

    static func spm(_ tool: String, _ arguments: [String], input: Data? = nil) throws -> ToolResult
    {
        try runProcess(URL(fileURLWithPath: "/usr/bin/\(tool)"), arguments, input: input)
    }

    static let files = [
        "multi30k/test2016.en", "multi30k/test2016.de", "wmt/newstest2014.en",
        "wmt/newstest2014.de",
    ]

    @Test("spm-encode is byte-identical to spm_encode", arguments: files, ["piece", "id"])
    func encode(file: String, format: String) throws {
        let input = try Data(contentsOf: sharedData(file))
        let ours = try runTool(
            "translate", ["spm-encode", "--model", Self.model, "--output-format", format],
            input: input)
        let theirs = try Self.spm(
            "spm_encode", ["--model", Self.model, "--output_format", format], input: input)
        #expect(ours.status == 0)
        #expect(ours.standardError == "")
        #expect(ours.standardOutput == theirs.standardOutput)
    }

    @Test(
        "spm-decode is byte-identical to spm_decode on spm_encode's output", arguments: files,
        ["piece", "id"])
    func decode(file: String, format: String) throws {
        let encoded = try Self.spm(
            "spm_encode", ["--model", Self.model, "--output_format", format, sharedData(file).path])
        let input = Data(encoded.standardOutput.utf8)
        let ours = try runTool(
            "translate", ["spm-decode", "--model", Self.model, "--input-format", format],
            input: input)
        let theirs = try Self.spm(
            "spm_decode", ["--model", Self.model, "--input_format", format], input: input)
        #expect(ours.status == 0)
        #expect(ours.standardOutput == theirs.standardOutput)
    }

    /// Odd but valid input: empty lines, CR, runs of spaces, an unterminated last line, unknown
    /// pieces,
    /// fields that C's atoi reads as 0 or as a prefix.
    @Test(
        "odd input matches the reference tools byte for byte",
        arguments: [
            ("spm-encode", "piece", "a\r\n\n   spaced    out   \n\tTab\nno newline at end"),
            ("spm-encode", "id", "a\r\n\n   spaced    out   \nno newline at end"),
            (
                "spm-decode", "piece",
                "\n▁Hello  ▁world\nfoo▁bar xyz\n ▁a\n▁a \n<s> ▁a </s> <pad> <unk>"
            ),
            ("spm-decode", "id", "\n5  6\n 5\n+5 -0 12abc abc\n\n"),
        ])
    func oddInput(command: String, format: String, text: String) throws {
        let formatFlag = command == "spm-encode" ? "--output-format" : "--input-format"
        let ours = try runTool(
            "translate", [command, "--model", Self.model, formatFlag, format],
            input: Data(text.utf8))
        let tool = command == "spm-encode" ? "spm_encode" : "spm_decode"
        let theirFlag = command == "spm-encode" ? "--output_format" : "--input_format"
        let theirs = try Self.spm(
            tool, ["--model", Self.model, theirFlag, format], input: Data(text.utf8))
        #expect(ours.status == 0)
        #expect(ours.standardOutput == theirs.standardOutput)
    }

    @Test("spm-train writes a model whose vocabulary equals spm_train's and that spm_encode reads")
    func train() throws {
        let directory = try TemporaryDirectory()
        let en = try directory.write("a.en", Self.firstLines("multi30k/train.en", 2000))
        let de = try directory.write("a.de", Self.firstLines("multi30k/train.de", 2000))
        let ours = try runTool(
            "translate",
            [
                "spm-train", "--input", "\(en),\(de)", "--model-prefix", directory.path("ours"),
                "--vocab-size", "700",
                "--model-type", "bpe", "--threads", "1",
            ])
        #expect(ours.status == 0)
        #expect(ours.standardOutput == "")
        #expect(ours.standardError.hasPrefix("spm-train: wrote \(directory.path("ours")).model"))
        let theirs = try Self.spm(
            "spm_train",
            [
                "--input=\(en),\(de)", "--model_prefix=\(directory.path("theirs"))",
                "--vocab_size=700",
                "--model_type=bpe", "--character_coverage=1.0", "--pad_id=0", "--unk_id=1",
                "--bos_id=2", "--eos_id=3",
                "--num_threads=1", "--minloglevel=2",
            ])
        #expect(theirs.status == 0)
        #expect(
            try String(contentsOfFile: directory.path("ours.vocab"), encoding: .utf8)
                == String(contentsOfFile: directory.path("theirs.vocab"), encoding: .utf8))
        let encoded = try Self.spm("spm_encode", ["--model", directory.path("ours.model"), en])
        #expect(encoded.status == 0)
    }

    static func firstLines(_ file: String, _ count: Int) throws -> String {
        let text = try String(contentsOf: sharedData(file), encoding: .utf8)
        return text.split(separator: "\n").prefix(count).joined(separator: "\n") + "\n"
    }

    // MARK: - Bad input: one error line, exit 1, nothing left behind

    @Test(
        "a missing or corrupt model is one error line naming it, exit 1",
        arguments: ["spm-encode", "spm-decode"])
    func badModel(command: String) throws {
        let directory = try TemporaryDirectory()
        let missing = directory.path("missing.model")
        var result = try runTool(
            "translate", [command, "--model", missing], input: Data("x\n".utf8))
        #expect(result.status == 1)
        #expect(result.standardError == "error: \(missing): no such file\n")
        let corrupt = try directory.write("corrupt.model", "not a model\n")
        result = try runTool("translate", [command, "--model", corrupt], input: Data("x\n".utf8))
        #expect(result.status == 1)
        #expect(
            result.standardError.hasPrefix("error: \(corrupt): not a valid SentencePiece model ("))
        #expect(result.standardError.filter { $0 == "\n" }.count == 1)
        #expect(result.standardOutput == "")
    }

    @Test("invalid UTF-8 in input names the file and line, exit 1")
    func invalidUTF8() throws {
        var bytes = Data("fine\nalso fine\nbroken ".utf8)
        bytes.append(0xFF)
        bytes.append(Data("\n".utf8))
        let stdin = try runTool("translate", ["spm-encode", "--model", Self.model], input: bytes)
        #expect(stdin.status == 1)
        #expect(stdin.standardError == "error: <stdin>:3: invalid UTF-8 at byte 7 of the line\n")
        let directory = try TemporaryDirectory()
        let file = try directory.write("in.txt", bytes)
        let named = try runTool("translate", ["spm-encode", "--model", Self.model, file])
        #expect(named.status == 1)
        #expect(named.standardError == "error: \(file):3: invalid UTF-8 at byte 7 of the line\n")
    }

    @Test("an id outside the vocabulary names the line, exit 1")
    func idOutOfRange() throws {
        let result = try runTool(
            "translate", ["spm-decode", "--model", Self.model, "--input-format", "id"],
            input: Data("5 6\n7 8000\n".utf8))
        #expect(result.status == 1)
        #expect(
            result.standardError == "error: <stdin>:2: id 8000 is outside the vocabulary 0..<8000\n"
        )
    }

    @Test("spm-train failures: one error line, exit 1, no model files left")
    func trainFailures() throws {
        let directory = try TemporaryDirectory()
        let small = try directory.write("small.txt", Self.firstLines("multi30k/train.en", 200))
        let empty = try directory.write("empty.txt", "")
        var bad = Data("ok\n".utf8)
        bad.append(contentsOf: [0xE2, 0x82, 0x0A])
        let broken = try directory.write("broken.txt", bad)
        let prefix = directory.path("m")
        let cases: [([String], String)] = [
            (
                ["--input", small, "--vocab-size", "50000"],
                "error: SentencePiece training failed: "
            ),
            (["--input", empty], "error: \(empty): empty training corpus (no line with text)\n"),
            (
                ["--input", "\(small),\(broken)"],
                "error: \(broken):2: invalid UTF-8 at byte 0 of the line\n"
            ),
            (
                ["--input", directory.path("nope.txt")],
                "error: \(directory.path("nope.txt")): no such file\n"
            ),
        ]
        for (arguments, expected) in cases {
            let result = try runTool(
                "translate", ["spm-train", "--model-prefix", prefix] + arguments)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.standardError.hasPrefix(expected), "\(arguments)")
            #expect(result.standardError.filter { $0 == "\n" }.count == 1, "\(arguments)")
        }
        let tooLarge = try runTool(
            "translate",
            ["spm-train", "--model-prefix", prefix, "--input", small, "--vocab-size", "50000"])
        #expect(
            tooLarge.standardError.contains(
                "Vocabulary size too high (50000). Please set it to a value <= "))
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.url.path)
        #expect(Set(left) == ["small.txt", "empty.txt", "broken.txt"])
    }

    @Test("bad flags are usage errors, exit 64")
    func usage() throws {
        let result = try runTool(
            "translate", ["spm-encode", "--model", Self.model, "--output-format", "proto"])
        #expect(result.status == 64)
        #expect(
            result.standardError.hasPrefix(
                "error: --output-format must be one of piece, id, got 'proto'\n"))
        let missing = try runTool("translate", ["spm-train", "--input", "a.txt"])
        #expect(missing.status == 64)
        #expect(missing.standardError.hasPrefix("error: missing required option --model-prefix\n"))
    }
}

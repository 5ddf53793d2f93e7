import BLEU
import Foundation
import TestSupport
import Testing

/// The `bleu` executable against what the `sacrebleu` 2.6.0 command printed for the same command
/// lines (Fixtures/cli.json), and its handling of bad input.
@Suite("bleu command line")
struct CommandTests {
    struct Case: Decodable, CustomStringConvertible, Sendable {
        let args: [String]
        let stdin: String?
        let status: Int32
        let stdout: String
        var description: String { (args + (stdin.map { ["< \($0)"] } ?? [])).joined(separator: " ") }
    }

    struct File: Decodable { let cases: [Case] }

    static let cases = Fixtures.decode(File.self, "cli.json").cases

    /// A folder laid out as the generator's: `wmt/` and `multi30k/` from the shared data, and the
    /// fixture files as `fixture:NAME`.
    static func workFolder() throws -> TemporaryDirectory {
        let folder = try TemporaryDirectory()
        for name in ["wmt", "multi30k"] {
            try FileManager.default.createSymbolicLink(
                at: folder.url.appendingPathComponent(name), withDestinationURL: sharedData(name))
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: Fixtures.folder.path) where !name.hasSuffix(".json") {
            try FileManager.default.copyItem(
                at: Fixtures.folder.appendingPathComponent(name), to: folder.url.appendingPathComponent("fixture:" + name))
        }
        return folder
    }

    /// sacreBLEU's output with its version replaced by ours in signatures and JSON.
    static func expected(_ text: String) -> String {
        text.replacingOccurrences(of: "version:2.6.0", with: "version:translate-bleu-0.1.0")
            .replacingOccurrences(of: "v:2.6.0", with: "v:translate-bleu-0.1.0")
            .replacingOccurrences(of: "\"version\": \"2.6.0\"", with: "\"version\": \"translate-bleu-0.1.0\"")
    }

    @Test("same output as sacrebleu", arguments: cases)
    func sameOutput(_ c: Case) throws {
        let folder = try Self.workFolder()
        let input = try c.stdin.map { try Data(contentsOf: folder.url.appendingPathComponent($0)) }
        let result = try runTool("bleu", c.args, input: input, currentDirectory: folder.url)
        #expect(result.status == c.status, "stderr: \(result.standardError)")
        #expect(result.standardOutput == Self.expected(c.stdout))
    }

    // MARK: - Bad input

    @Test("hypothesis and reference line counts differ: one line naming both files and counts, exit 1")
    func lineCountMismatch() throws {
        let folder = try TemporaryDirectory()
        try folder.write("ref.txt", "a b c\nd e f\n")
        try folder.write("hyp.txt", "a b c\n")
        let result = try runTool("bleu", ["ref.txt", "-i", "hyp.txt"], currentDirectory: folder.url)
        #expect(result.status == 1)
        #expect(result.standardError == "error: hyp.txt has 1 lines but ref.txt has 2\n")
        #expect(result.standardOutput.isEmpty)
    }

    @Test("a missing file is named, exit 1")
    func missingFile() throws {
        let folder = try TemporaryDirectory()
        try folder.write("ref.txt", "a\n")
        let result = try runTool("bleu", ["ref.txt", "-i", "nope.txt"], currentDirectory: folder.url)
        #expect(result.status == 1)
        #expect(result.standardError == "error: nope.txt: no such file\n")
    }

    @Test("an unreadable file is named, exit 1")
    func unreadableFile() throws {
        let folder = try TemporaryDirectory()
        try folder.write("hyp.txt", "a\n")
        try FileManager.default.createDirectory(
            at: folder.url.appendingPathComponent("ref.txt"), withIntermediateDirectories: false)
        let result = try runTool("bleu", ["ref.txt", "-i", "hyp.txt"], currentDirectory: folder.url)
        #expect(result.status == 1)
        #expect(result.standardError == "error: ref.txt: is a directory\n")
    }

    @Test("invalid UTF-8 names the file and the line, exit 1")
    func invalidUTF8() throws {
        let folder = try TemporaryDirectory()
        try folder.write("ref.txt", "a\nb\nc\n")
        try folder.write("hyp.txt", Data("a\nb\n".utf8) + Data([0x63, 0xFF, 0x0A]))
        let result = try runTool("bleu", ["ref.txt", "-i", "hyp.txt"], currentDirectory: folder.url)
        #expect(result.status == 1)
        #expect(result.standardError == "error: hyp.txt: line 3: invalid UTF-8\n")
    }

    @Test("an unknown tokenizer is a usage error, exit 64")
    func unknownTokenizer() throws {
        let folder = try TemporaryDirectory()
        try folder.write("ref.txt", "a\n")
        let result = try runTool("bleu", ["ref.txt", "-i", "ref.txt", "-tok", "moses"], currentDirectory: folder.url)
        #expect(result.status == 64)
        #expect(result.standardError.hasPrefix("error: --tokenize must be one of none, 13a, intl, char, zh, got 'moses'\n"))
    }

    @Test("an empty hypothesis file is an error, as in sacreBLEU")
    func emptySystem() throws {
        let folder = try TemporaryDirectory()
        try folder.write("ref.txt", "")
        try folder.write("hyp.txt", "")
        let result = try runTool("bleu", ["ref.txt", "-i", "hyp.txt"], currentDirectory: folder.url)
        #expect(result.status == 1)
        #expect(result.standardError == "error: hyp.txt has no lines\n")
    }

    @Test("--help lists sacreBLEU's flags and exits 0")
    func help() throws {
        let result = try runTool("bleu", ["--help"])
        #expect(result.status == 0)
        for flag in ["-tok", "-lc", "-s METHOD", "-sv", "-w N", "-b", "-f FORMAT", "-nr", "-sl", "-m", "-cw", "-ci", "--paired-bs"] {
            #expect(result.standardOutput.contains(flag), "\(flag)")
        }
    }

    @Test("no reference file is a usage error, exit 64")
    func noReference() throws {
        let result = try runTool("bleu", ["-i", "x.txt"])
        #expect(result.status == 64)
    }
}

/// The resampling pieces against numpy and Python, by value.
@Suite("numpy-compatible resampling")
struct ResamplingTests {
    @Test("default_rng(12345) gives numpy's raw stream and integers")
    func numpyStream() {
        // np.random.default_rng(12345).bit_generator.random_raw(3)
        var random = NumpyRandom(seed: 12345)
        #expect([random.nextUInt64(), random.nextUInt64(), random.nextUInt64()]
            == [4_193_609_425_186_963_869, 5_843_160_025_838_961_886, 14_708_796_524_633_321_433])
        // np.random.default_rng(12345).integers(0, 3004, size=5)
        var bounded = NumpyRandom(seed: 12345)
        #expect((0..<5).map { _ in bounded.integer(below: 3004) } == [2100, 682, 2369, 951, 613])
    }

    @Test("the exact mean rounds once, like statistics.mean")
    func exactMean() {
        // statistics.mean([1e16, 1.0, -1e16, 3.0]) == 1.0 (a naive sum gives 0.75 or 0.0)
        let (mean, _) = Resampling.confidence([1e16, 1.0, -1e16, 3.0])
        #expect(mean == 1.0)
        #expect(Resampling.confidence([0.1, 0.2, 0.3]).mean == 0.2)
    }
}

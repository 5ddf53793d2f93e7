import Foundation
import Seq2Seq
import TestSupport
import Testing

/// Small real data and the flags of a tiny model, so a run takes seconds in a debug build.
private struct TinyRun {
    let folder: TemporaryDirectory
    let source: String, target: String, valid: (String, String)

    init(pairs: Int = 600) throws {
        folder = try TemporaryDirectory()
        func head(_ name: String, _ count: Int) throws -> String {
            let lines = try String(contentsOf: sharedData("multi30k/\(name)"), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false).prefix(count)
            return lines.joined(separator: "\n") + "\n"
        }
        source = try folder.write("train.en", head("train.en", pairs))
        target = try folder.write("train.de", head("train.de", pairs))
        valid = (try folder.write("val.en", head("val.en", 20)), try folder.write("val.de", head("val.de", 20)))
    }

    func arguments(saveDirectory: String, updates: Int, extra: [String] = []) -> [String] {
        [
            "train", "--train", source, target, "--spm", sharedRoot.appendingPathComponent("reference/spm8k.model").path,
            "--save-dir", folder.path(saveDirectory), "--d-model", "32", "--attention-heads", "2", "--ffn-dim", "64",
            "--encoder-layers", "1", "--decoder-layers", "1", "--projection-length", "4", "--max-tokens", "512",
            "--validate-every", "2", "--log-every", "1", "--max-updates", String(updates), "--dropout", "0.2",
        ] + extra
    }
}

/// The parameters and optimizer moments of a checkpoint file.
private func checkpointTensors(_ path: String) throws -> [String: Tensor] {
    try SafeTensors(contentsOf: path).floatTensors()
}

@Suite("translate train end to end", .serialized)
struct TrainCommandTests {
    @Test("a run stopped and resumed ends with exactly the parameters of an uninterrupted run")
    func exactResume() throws {
        let run = try TinyRun()
        let straight = try runTool("translate", run.arguments(saveDirectory: "straight", updates: 5))
        #expect(straight.status == 0, "\(straight.standardError)")
        let first = try runTool("translate", run.arguments(saveDirectory: "resumed", updates: 3))
        #expect(first.status == 0, "\(first.standardError)")
        let second = try runTool("translate", run.arguments(saveDirectory: "resumed", updates: 5))
        #expect(second.status == 0, "\(second.standardError)")
        #expect(second.standardError.contains("resuming from"))
        let a = try checkpointTensors(run.folder.path("straight/checkpoint_last.safetensors"))
        let b = try checkpointTensors(run.folder.path("resumed/checkpoint_last.safetensors"))
        #expect(a.count > 20 && a.keys.contains { $0.hasPrefix("optimizer.") })
        #expect(a == b)
        // The model directory loads as one, and the metrics log has one record per update, no repeats.
        _ = try ModelDirectory.load(run.folder.path("resumed"))
        let log = try String(contentsOfFile: run.folder.path("resumed/metrics.jsonl"), encoding: .utf8)
        let updates = log.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Double])?["update"]
        }
        #expect(updates == [1, 2, 3, 4, 5])
    }

    @Test("Ctrl-C saves a checkpoint and exits 130; the same command then resumes")
    func interrupt() throws {
        let run = try TinyRun()
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent("translate")
        process.arguments = Array(run.arguments(saveDirectory: "ctrl-c", updates: 100_000).dropFirst(0))
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let log = run.folder.path("ctrl-c/metrics.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: log) && Date() < deadline { usleep(50_000) }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        let saved = try SafeTensors(contentsOf: run.folder.path("ctrl-c/checkpoint_last.safetensors"))
        let state = try #require(saved.metadata["trainer_state"])
        #expect(!state.contains("\"update\":0"))
        let resumed = try runTool("translate", run.arguments(saveDirectory: "ctrl-c", updates: 1))
        #expect(resumed.status == 0)
        #expect(resumed.standardError.contains("resuming from"))
    }

    @Test("bad input stops before training with one error line, and writes nothing")
    func badInput() throws {
        let run = try TinyRun(pairs: 50)
        let short = try run.folder.write("short.de", "eins\nzwei\n")
        var arguments = run.arguments(saveDirectory: "never", updates: 2)
        arguments[arguments.firstIndex(of: run.target)!] = short
        let mismatch = try runTool("translate", arguments)
        #expect(mismatch.status == 1)
        #expect(mismatch.standardError == "error: \(run.source) has 50 lines but \(short) has 2; parallel files must have one line per sentence pair\n")
        #expect(!FileManager.default.fileExists(atPath: run.folder.path("never")))

        let broken = try run.folder.write("broken.de", Data("gut\n".utf8) + Data([0xC3, 0x0A]))
        arguments[arguments.firstIndex(of: short)!] = broken
        let utf8 = try runTool("translate", arguments)
        #expect(utf8.status == 1 && utf8.standardError == "error: \(broken): line 2: invalid UTF-8\n")

        let range = try runTool("translate", run.arguments(saveDirectory: "never", updates: 2, extra: ["--max-tokens", "0"]))
        #expect(range.status == 64)
        #expect(range.standardError.hasPrefix("error: --max-tokens must be an integer from 16 to 10000000, got '0'\n"))
        #expect(!FileManager.default.fileExists(atPath: run.folder.path("never")))
    }

    @Test("a save directory holding another architecture is refused and left as it was")
    func otherArchitecture() throws {
        let run = try TinyRun(pairs: 50)
        let luna = try runTool("translate", run.arguments(saveDirectory: "model", updates: 1))
        #expect(luna.status == 0, "\(luna.standardError)")
        let before = try Data(contentsOf: URL(fileURLWithPath: run.folder.path("model/checkpoint_last.safetensors")))
        let other = try runTool(
            "translate", run.arguments(saveDirectory: "model", updates: 2, extra: ["--arch", "transformer"]))
        #expect(other.status == 1)
        #expect(other.standardError.contains("holds a luna model that differs from the one asked for (arch: luna vs transformer)"))
        let after = try Data(contentsOf: URL(fileURLWithPath: run.folder.path("model/checkpoint_last.safetensors")))
        #expect(before == after)
    }
}

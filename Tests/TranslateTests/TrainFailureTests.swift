import Foundation
import Seq2Seq
import TestSupport
import Testing

/// A tiny training command on the first 100 pairs of Multi30k.
private func tinyTrain(_ folder: TemporaryDirectory, saveDirectory: String, updates: Int) throws -> [String] {
    func head(_ name: String) throws -> String {
        let text = try String(contentsOf: sharedData("multi30k/\(name)"), encoding: .utf8)
        return try folder.write(name, text.split(separator: "\n").prefix(100).joined(separator: "\n") + "\n")
    }
    return [
        "train", "--train", try head("train.en"), try head("train.de"),
        "--spm", sharedRoot.appendingPathComponent("reference/spm8k.model").path, "--save-dir", saveDirectory,
        "--d-model", "32", "--attention-heads", "2", "--ffn-dim", "64", "--encoder-layers", "1", "--decoder-layers", "1",
        "--projection-length", "4", "--max-tokens", "512", "--validate-every", "1", "--max-updates", String(updates),
    ]
}

/// Whether this machine lets the tests mount a small tmpfs (root in a sandbox that allows it).
private let canMountTmpfs: Bool = {
    guard getuid() == 0, let probe = try? TemporaryDirectory() else { return false }
    let mount = try? runProcess(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe.url.path])
    guard mount?.status == 0 else { return false }
    _ = try? runProcess(URL(fileURLWithPath: "/bin/umount"), [probe.url.path])
    return true
}()

@Suite("translate train failures", .serialized)
struct TrainFailureTests {
    @Test("a loss that turns NaN stops the run naming the update, and keeps the last checkpoint")
    func nanLoss() throws {
        let folder = try TemporaryDirectory()
        let save = folder.path("run")
        let first = try runTool("translate", try tinyTrain(folder, saveDirectory: save, updates: 1))
        #expect(first.status == 0, "\(first.standardError)")
        // Poison the checkpoint the next run resumes from: every embedding weight becomes NaN.
        let path = save + "/checkpoint_last.safetensors"
        let file = try SafeTensors(contentsOf: path)
        var tensors = try file.floatTensors()
        let embedding = tensors["encoder.embed_tokens.weight"]!
        tensors["encoder.embed_tokens.weight"] = Tensor(repeating: .nan, shape: embedding.shape)
        try SafeTensors.write(tensors, metadata: file.metadata, to: path)
        let poisoned = try Data(contentsOf: URL(fileURLWithPath: path))

        let second = try runTool("translate", try tinyTrain(folder, saveDirectory: save, updates: 3))
        #expect(second.status == 1)
        let last = String(second.standardError.split(separator: "\n").last ?? "")
        #expect(last.hasPrefix("error: the loss became nan at update 2 (a batch of "))
        #expect(last.hasSuffix(" sentences); training stopped, and \(path) still holds the last good checkpoint"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == poisoned)
    }

    @Test("a full disk gives one error line naming the file, and leaves no partial file", .enabled(if: canMountTmpfs))
    func fullDisk() throws {
        let folder = try TemporaryDirectory()
        let mountPoint = folder.path("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = try runProcess(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=128k", "tmpfs", mountPoint])
        try #require(mount.status == 0)
        defer { _ = try? runProcess(URL(fileURLWithPath: "/bin/umount"), [mountPoint]) }
        let save = mountPoint + "/run"
        let result = try runTool("translate", try tinyTrain(folder, saveDirectory: save, updates: 2))
        #expect(result.status == 1)
        let errorLines = result.standardError.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errorLines.count == 1)
        #expect(errorLines.first?.contains("\(save)/spm.model: write failed") == true, "\(result.standardError)")
        let left = try FileManager.default.contentsOfDirectory(atPath: save)
        #expect(!left.contains { $0.contains(".tmp-") }, "temporary files left: \(left)")
    }

    @Test("a kill -9 at any moment leaves a checkpoint that loads, and the same command resumes from it")
    func killed() throws {
        let folder = try TemporaryDirectory()
        let save = folder.path("run")
        let arguments = try tinyTrain(folder, saveDirectory: save, updates: 100_000)
        let checkpoint = save + "/checkpoint_last.safetensors"
        // Kills at different moments after the first checkpoint exists: mid-update, mid-validation, mid-write.
        for delay in [0.0, 0.15, 0.4] {
            let process = Process()
            process.executableURL = productsDirectory.appendingPathComponent("translate")
            process.arguments = arguments
            process.standardError = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(120)
            while !FileManager.default.fileExists(atPath: checkpoint) && Date() < deadline { usleep(20_000) }
            usleep(useconds_t(delay * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let file = try SafeTensors(contentsOf: checkpoint)
            #expect(file.metadata["trainer_state"] != nil)
            #expect(try file.floatTensors().count > 20)
        }
        let state = try SafeTensors(contentsOf: checkpoint).metadata["trainer_state"]!
        let update = try #require(
            (try JSONSerialization.jsonObject(with: Data(state.utf8)) as? [String: Any])?["update"] as? Int)
        var resume = arguments
        resume[resume.firstIndex(of: "100000")!] = String(update + 1)
        let result = try runTool("translate", resume)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("resuming from \(checkpoint) at update \(update)"))
    }
}

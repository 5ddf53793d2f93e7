import Foundation
import Seq2Seq
import TestSupport
import Testing

/// Open MPI's launcher, when installed (`scripts/setup --mpi`; `scripts/test` runs it).
private let mpirun: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// A tiny model on 400 real pairs, no validation until the end: a few seconds an update count.
private struct TinyData {
    let folder: TemporaryDirectory
    let files: [String]

    init() throws {
        folder = try TemporaryDirectory()
        var files: [String] = []
        for (name, count) in [("train.en", 400), ("train.de", 400), ("val.en", 10), ("val.de", 10)] {
            let text = try String(contentsOf: sharedData("multi30k/\(name)"), encoding: .utf8)
            files.append(try folder.write(name, text.split(separator: "\n").prefix(count).joined(separator: "\n") + "\n"))
        }
        self.files = files
    }

    /// `translate train` flags; `updates` updates of `updateFrequency` batches per rank.
    func train(saveDirectory: String, updates: Int, updateFrequency: Int) -> [String] {
        let model = ["--d-model", "32", "--attention-heads", "2", "--ffn-dim", "64", "--encoder-layers", "1"]
            + ["--decoder-layers", "1", "--projection-length", "4", "--dropout", "0.2", "--warmup-updates", "1"]
        return ["train", "--train", files[0], files[1], "--valid", files[2], files[3]]
            + ["--spm", sharedRoot.appendingPathComponent("reference/spm8k.model").path, "--save-dir", saveDirectory]
            + model + ["--max-tokens", "256", "--validate-every", "100", "--log-every", "1", "--threads", "1"]
            + ["--replica-check-every", "1", "--max-updates", String(updates), "--update-freq", String(updateFrequency)]
    }
}

/// `mpirun` with two ranks on this machine (as root, as CI runs), then `arguments`.
private func mpirun2(_ extra: [String], _ arguments: [String]) throws -> ToolResult {
    try runProcess(
        URL(fileURLWithPath: mpirun!),
        ["--allow-run-as-root", "--oversubscribe", "-np", "2"] + extra + arguments)
}

/// Parameters (not optimizer moments) and trainer state of a checkpoint.
private func checkpoint(_ path: String) throws -> (parameters: [String: Tensor], state: [String: Double]) {
    let file = try SafeTensors(contentsOf: path)
    let parameters = try file.floatTensors().filter { !$0.key.hasPrefix("optimizer.") }
    let state = try JSONSerialization.jsonObject(with: Data(file.metadata["trainer_state"]!.utf8)) as! [String: Double]
    return (parameters, state)
}

private func expectSameParameters(_ actual: String, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation)
    throws
{
    let (a, aState) = try checkpoint(actual)
    let (b, bState) = try checkpoint(expected)
    #expect(a.keys.sorted() == b.keys.sorted() && a.count > 20, sourceLocation: sourceLocation)
    for (name, tensor) in b {
        // One process sums a batch's gradient onto the other's, MPI sums two finished gradients:
        // the float sums differ in order only (measured: at most 6e-8; 5e-3 for --update-freq 1).
        expectClose(a[name]!, tensor, relativeTolerance: 1e-4, absoluteTolerance: 1e-5, "\(name)", sourceLocation: sourceLocation)
    }
    for key in ["update", "epoch", "batchInEpoch"] {
        #expect(aState[key] == bState[key], "\(key)", sourceLocation: sourceLocation)
    }
}

/// One process, `--update-freq 2`, 4 updates: what the two-rank runs must reproduce.
private let reference: Result<(data: TinyData, directory: String), Error> = Result {
    let data = try TinyData()
    let directory = data.folder.path("one-process")
    let run = try runTool("translate", data.train(saveDirectory: directory, updates: 4, updateFrequency: 2))
    guard run.status == 0 else { throw RuntimeFailure(message: run.standardError) }
    return (data, directory)
}

private struct RuntimeFailure: Error { let message: String }

@Suite(
    "mpirun -np 2 translate train", .serialized, .enabled(if: mpirun != nil, "needs Open MPI (scripts/setup --mpi)"),
    .timeLimit(.minutes(10)))
struct DistributedTrainingTests {
    @Test("two ranks with --update-freq 1 end with the parameters of one process with --update-freq 2")
    func twoRanksMatchAccumulation() throws {
        let (data, expected) = try reference.get()
        let directory = data.folder.path("two-ranks")
        // TCP over loopback: the transport between machines, not shared memory.
        let run = try mpirun2(
            ["--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo"],
            [productsDirectory.appendingPathComponent("translate").path]
                + data.train(saveDirectory: directory, updates: 4, updateFrequency: 1))
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardError.contains("train: 2 data-parallel ranks, 2 batches per update"))
        #expect(run.standardError.contains("data-parallel: 2 ranks agree on the parameters"))
        try expectSameParameters(directory + "/checkpoint_last.safetensors", expected + "/checkpoint_last.safetensors")
        // The logged losses are the global ones: the same as one process's.
        let logged = { (path: String) in
            MetricsLogRecords(path: path + "/metrics.jsonl").values("loss")
        }
        let (ours, theirs) = (logged(directory), logged(expected))
        #expect(ours.count == 4 && theirs.count == 4)
        for (a, b) in zip(ours, theirs) { #expect(abs(a - b) <= 1e-4 * abs(b)) }
    }

    @Test("only rank 0 writes files or prints; a one-process checkpoint resumes on two ranks")
    func onlyRankZeroWrites() throws {
        let (data, expected) = try reference.get()
        // Each rank runs in its own folder with a relative --save-dir, as on machines with no
        // shared disk: rank 1's folder must stay empty, and it never needs rank 0's files.
        let folders = [data.folder.path("rank0"), data.folder.path("rank1")]
        for folder in folders { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let first = try runTool(
            "translate", data.train(saveDirectory: folders[0] + "/run", updates: 2, updateFrequency: 2))
        #expect(first.status == 0, "\(first.standardError)")

        let translate = productsDirectory.appendingPathComponent("translate").path
        let command = "cd \(data.folder.path("rank"))$OMPI_COMM_WORLD_RANK && exec \"$0\" \"$@\""
        let run = try mpirun2(
            ["--tag-output", "sh", "-c", command, translate],
            data.train(saveDirectory: "run", updates: 4, updateFrequency: 1))
        #expect(run.status == 0, "\(run.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folders[1]).isEmpty)
        // --tag-output starts each line with [job,rank]<stream>:
        let lines = (run.standardOutput + run.standardError).split(separator: "\n").map { line in
            let tag = line.prefix { $0 != ":" }
            return (rank: tag.split(separator: ",").last?.prefix { $0 != "]" } ?? "", text: line.dropFirst(tag.count + 1))
        }
        let byRankOne = lines.filter { $0.rank != "0" }
        #expect(byRankOne.isEmpty, "rank 1 printed: \(byRankOne)")
        #expect(lines.contains { $0.text.hasPrefix("resuming from run/checkpoint_last.safetensors at update 2") })
        #expect(lines.contains { $0.text.hasPrefix("data-parallel: 2 ranks agree on the parameters") })
        #expect(lines.contains { $0.text.hasPrefix("stopped: reached --max-updates 4 after 4 updates") })
        #expect(MetricsLogRecords(path: folders[0] + "/run/metrics.jsonl").values("update", having: "loss") == [1, 2, 3, 4])
        // Two updates of one process with 2 batches, then two of two ranks with 1 batch each: the
        // same run as four updates of one process with 2 batches.
        try expectSameParameters(folders[0] + "/run/checkpoint_last.safetensors", expected + "/checkpoint_last.safetensors")
    }

    @Test("SIGUSR1 to one rank stops every rank after the update; rank 0 saves and the job exits 130")
    func signalStops() throws {
        let data = try TinyData()
        let directory = data.folder.path("stopped")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun!)
        process.arguments =
            ["--allow-run-as-root", "--oversubscribe", "-np", "2", productsDirectory.appendingPathComponent("translate").path]
            + data.train(saveDirectory: directory, updates: 100_000, updateFrequency: 1)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(300)
        while !FileManager.default.fileExists(atPath: directory + "/metrics.jsonl") && Date() < deadline {
            usleep(50_000)
        }
        // Users signal mpirun, which forwards SIGUSR1 to every rank; a test process starts mpirun
        // with the signal blocked, so this signals rank 1 alone, which also shows that the ranks
        // agree to stop together.
        let rankOne = try #require(rank(1, launchedBy: process.processIdentifier))
        kill(rankOne, SIGUSR1)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        let (_, state) = try checkpoint(directory + "/checkpoint_last.safetensors")
        #expect(state["update"]! >= 1)
    }
}

/// The process id of rank `rank` among the children of `mpirun`.
private func rank(_ rank: Int, launchedBy mpirun: Int32) -> Int32? {
    let children = (try? String(contentsOfFile: "/proc/\(mpirun)/task/\(mpirun)/children", encoding: .utf8)) ?? ""
    return children.split(separator: " ").compactMap { Int32($0) }.first { pid in
        let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
        return environment.split(separator: 0).contains { Data($0) == Data("OMPI_COMM_WORLD_RANK=\(rank)".utf8) }
    }
}

/// The records of a `metrics.jsonl`.
private struct MetricsLogRecords {
    let path: String

    /// One key's values, over the records that have it (and `other`), in order.
    func values(_ key: String, having other: String? = nil) -> [Double] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            let record = (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Double]
            return other.map { record?[$0] == nil } == true ? nil : record?[key]
        }
    }
}

import CLI
import Foundation
import Seq2Seq

/// The ranks of one `mpirun -np N translate train` job, as the trainer sees them: which rank
/// computes which batch, the sums that make N ranks behave as one process with N times the
/// batches per update, the parameter checksums compared across ranks, and the time all this takes.
///
/// Concretely, with N ranks and `--update-freq F`, one update consumes N·F consecutive batches of
/// the single-process batch stream; rank r computes batches r·F … r·F+F−1 of them with the dropout
/// seeds the single process would use for them, and the gradient sums, loss sums and target-token
/// counts are summed over the ranks before the gradients are divided by the global token count.
/// So N ranks with F batches each follow the run of one process with N·F, up to the order of
/// floating-point sums.
final class DataParallelGroup {
    let communicator: Communicator
    /// Compare the ranks' parameter checksums every this many updates (0: only at the end).
    let checkEvery: Int
    /// Seconds the ranks waited for each other (the loss and token sums, which come first, absorb
    /// the difference between the ranks' step times).
    private(set) var waitSeconds = 0.0
    /// Seconds spent summing gradients (copying into and out of packed buckets included).
    private(set) var reduceSeconds = 0.0
    /// Gradient all-reduces done by this process.
    private(set) var reductions = 0
    private var buckets: GradientBuckets?
    private var staging: [Float] = []

    var rank: Int { communicator.rank }
    var size: Int { communicator.size }
    /// Rank 0: the one that validates, logs and writes files.
    var isLeader: Bool { rank == 0 }

    init(communicator: Communicator, checkEvery: Int) {
        self.communicator = communicator
        self.checkEvery = checkEvery
    }

    /// The job this process is a rank of, when `mpirun` started it (Open MPI sets
    /// `OMPI_COMM_WORLD_SIZE`); nil for a plain process, which loads no MPI at all.
    static func fromEnvironment(checkEvery: Int) throws -> DataParallelGroup? {
        guard ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil else { return nil }
        return DataParallelGroup(communicator: try MPICommunicator(), checkEvery: checkEvery)
    }

    /// The rank that computes batch `part` (from 0 to N·F−1) of an update.
    static func rank(ofPart part: Int, updateFrequency: Int) -> Int { part / updateFrequency }

    // MARK: - Per update

    /// Makes every rank see the same stop signals: Ctrl-C on any rank and the largest training time.
    func agree(interrupted: Bool, trainingSeconds: Double) throws -> (interrupted: Bool, trainingSeconds: Double) {
        var values = [interrupted ? 1.0 : 0.0, trainingSeconds]
        try communicator.allReduce(&values, .maximum)
        return (values[0] > 0, values[1])
    }

    /// The loss sums and target tokens of the whole update, summed over the ranks.
    func sumTotals(loss: Double, nll: Double, tokens: Int) throws -> (loss: Double, nll: Double, tokens: Int) {
        let started = monotonicSeconds()
        var values = [loss, nll, Double(tokens)]
        try communicator.allReduce(&values, .sum)
        waitSeconds += monotonicSeconds() - started
        return (values[0], values[1], Int(values[2]))
    }

    /// Sums the parameters' gradients over the ranks, in place, in buckets.
    func sumGradients(_ parameters: [Parameter]) throws {
        let started = monotonicSeconds()
        if buckets == nil { buckets = GradientBuckets(sizes: parameters.map(\.gradient.count)) }
        try buckets!.allReduce(parameters, staging: &staging, over: communicator)
        reduceSeconds += monotonicSeconds() - started
        reductions += 1
    }

    /// Rank 0's `value` on every rank (e.g. whether patience has run out, which only rank 0 knows).
    func leaderDecision(_ value: Bool) throws -> Bool {
        var values = [isLeader && value ? 1.0 : 0.0]
        try communicator.allReduce(&values, .maximum)
        return values[0] > 0
    }

    // MARK: - Agreement of the ranks

    /// A 64-bit hash of the exact bits of every parameter, in order (FNV-1a over 32-bit words,
    /// four interleaved lanes so that it runs at memory speed).
    static func checksum(_ parameters: [Parameter]) -> UInt64 {
        let prime: UInt64 = 0x100_0000_01B3
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (
            0xCBF2_9CE4_8422_2325, 0x8422_2325_CBF2_9CE4, 0x9CE4_8422_2325_CBF2, 0x2325_CBF2_9CE4_8422
        )
        for parameter in parameters {
            parameter.value.withUnsafeBufferPointer { values in
                values.withMemoryRebound(to: UInt32.self) { words in
                    var i = 0
                    while i + 4 <= words.count {
                        lanes.0 = (lanes.0 ^ UInt64(words[i])) &* prime
                        lanes.1 = (lanes.1 ^ UInt64(words[i + 1])) &* prime
                        lanes.2 = (lanes.2 ^ UInt64(words[i + 2])) &* prime
                        lanes.3 = (lanes.3 ^ UInt64(words[i + 3])) &* prime
                        i += 4
                    }
                    while i < words.count {
                        lanes.0 = (lanes.0 ^ UInt64(words[i])) &* prime
                        i += 1
                    }
                }
            }
            lanes.1 = (lanes.1 ^ UInt64(parameter.value.count)) &* prime
        }
        return ((lanes.0 &* 31 ^ lanes.1) &* 31 ^ lanes.2) &* 31 ^ lanes.3
    }

    /// Compares the parameter checksums of all ranks.
    /// - Returns: the common checksum.
    /// - Throws: ``SharedFailure`` naming the update and each rank's checksum when they differ.
    @discardableResult
    func checkReplicas(_ parameters: [Parameter], update: Int, checkpoint: String) throws -> UInt64 {
        let checksums = try communicator.allGather(Self.checksum(parameters))
        guard Set(checksums).count == 1 else {
            let listed = checksums.enumerated().map { "rank \($0.offset) \(hex($0.element))" }.joined(separator: ", ")
            throw SharedFailure(
                "the ranks' parameters differ after update \(update) (\(listed)): data-parallel training "
                    + "diverged; training stopped, and \(checkpoint) holds the last checkpoint")
        }
        return checksums[0]
    }

    // MARK: - Start and end

    /// Rank 0's parameters, Adam moments and trainer state on every rank: a resumed run reads its
    /// checkpoint on rank 0 alone, so the other ranks need no access to the save directory.
    func shareTrainingState(model: EncoderDecoder, optimizer: Adam, state: TrainerState) throws -> TrainerState {
        for (_, parameter) in model.parameters(prefix: "") {
            try communicator.broadcast(&parameter.value.scalars, root: 0)
        }
        var moments = optimizer.state()
        for name in moments.keys.sorted() {
            try communicator.broadcast(&moments[name]!.scalars, root: 0)
        }
        let header = try JSONEncoder().encode(SharedHeader(state: state, optimizerStep: optimizer.step))
        let shared = try JSONDecoder().decode(SharedHeader.self, from: try communicator.broadcast(header, root: 0))
        do { try optimizer.restore(moments, step: shared.optimizerStep) } catch {
            throw RuntimeError("optimizer state from rank 0: \(error)")
        }
        return shared.state
    }

    private struct SharedHeader: Codable {
        var state: TrainerState
        var optimizerStep: Int
    }

    /// One line for the end of the run: ranks, gradient size and what summing it cost.
    func summary(parameterCount: Int, trainingSeconds: Double, checksum: UInt64) -> String {
        let perUpdate = reduceSeconds / Double(max(reductions, 1))
        let share = { (seconds: Double) in format(100 * seconds / max(trainingSeconds, 1e-9), 1) + "%" }
        return "data-parallel: \(size == 1 ? "1 rank" : "\(size) ranks agree on the parameters") (checksum \(hex(checksum))); "
            + "\(parameterCount) gradient floats (\(format(Double(parameterCount) * 4 / 1_048_576, 1)) MiB) "
            + "in \(buckets?.buckets.count ?? 0) all-reduce calls per update; rank 0 spent "
            + "\(format(reduceSeconds, 2)) s summing gradients (\(format(perUpdate * 1000, 1)) ms per update, "
            + "\(share(reduceSeconds)) of training) and \(format(waitSeconds, 2)) s waiting for the other ranks "
            + "(\(share(waitSeconds)))\n"
    }

    /// Ends MPI on this rank (after the last collective).
    func finish() throws {
        try (communicator as? MPICommunicator)?.finalize()
    }

    /// How an error of this rank reaches the user: rank 0 reports everything; another rank stays
    /// quiet on a ``SharedFailure`` (rank 0 reports the same) and names itself otherwise.
    func reportable(_ error: Error) -> Error {
        if let failure = error as? SharedFailure {
            return isLeader ? RuntimeError(failure.message) : ExitRequest(status: 1)
        }
        if isLeader || error is ExitRequest { return error }
        if let runtime = error as? RuntimeError { return RuntimeError("rank \(rank): \(runtime.message)") }
        return RuntimeError("rank \(rank): \(error)")
    }
}

/// A failure every rank meets at the same point of the run (the summed loss turned NaN, the ranks'
/// parameters differ), so that only rank 0 reports it.
struct SharedFailure: Error, Equatable {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A 64-bit value as `0x` and 16 hex digits.
private func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
}

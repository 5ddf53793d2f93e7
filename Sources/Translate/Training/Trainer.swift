import BLEU
import CLI
import Foundation
import Seq2Seq
import Synchronization
import Tokenize

/// Set by the first Ctrl-C; the training loop saves a checkpoint and stops at the next update.
let interruptRequested = Atomic<Bool>(false)

/// Makes the first SIGINT or SIGTERM (or one of `extra`) ask the training loop to stop cleanly; a
/// second one ends the process at once.
func installInterruptHandler(alsoOn extra: [Int32] = []) {
    // A parent may have started us with these signals blocked (the mask survives exec); unblock them.
    var set = sigset_t()
    sigemptyset(&set)
    for signalNumber in [SIGINT, SIGTERM] + extra { sigaddset(&set, signalNumber) }
    sigprocmask(SIG_UNBLOCK, &set, nil)
    for signalNumber in [SIGINT, SIGTERM] + extra {
        signal(signalNumber) { number in
            if interruptRequested.exchange(true, ordering: .relaxed) {
                signal(number, SIG_DFL)
                raise(number)
            }
        }
    }
}

/// A validation set: the encoded pairs and the raw reference lines BLEU is computed against.
struct ValidationSet {
    var encoded: EncodedCorpus
    /// The untokenized target line of every kept pair.
    var references: [String]
}

/// What one validation measured.
struct ValidationResult {
    var loss: Double
    var nllLoss: Double
    var bleu: BLEUScore
    var signature: String
    var seconds: Double
}

/// The training loop of `translate train`: token batches, gradient accumulation, Adam with the
/// inverse-square-root schedule, periodic validation (loss and BLEU of decoded output), and
/// checkpoints that make a rerun of the same command continue exactly where this one stopped.
final class Trainer {
    let options: ModelTrainingOptions
    let model: EncoderDecoder
    let parameters: [(name: String, parameter: Parameter)]
    let optimizer: Adam
    let schedule: InverseSquareRootSchedule
    let batcher: TokenBatcher
    let train: EncodedCorpus
    let valid: ValidationSet?
    let sentencePiece: SentencePieceModel
    let saveDirectory: String
    let metrics: MetricsLog
    var state: TrainerState
    /// The MPI job this trainer is one rank of; nil for a single process.
    let group: DataParallelGroup?
    /// One tape for every step, reseeded per batch, so its buffer pool serves the whole run.
    private let tape = Tape(isTraining: true)
    private var epochBatches: (epoch: Int, batches: [[Int]])?

    init(
        options: ModelTrainingOptions, model: EncoderDecoder, optimizer: Adam, train: EncodedCorpus,
        valid: ValidationSet?, sentencePiece: SentencePieceModel, state: TrainerState,
        group: DataParallelGroup? = nil
    ) {
        self.options = options
        self.model = model
        self.parameters = model.parameters(prefix: "")
        self.optimizer = optimizer
        self.schedule = InverseSquareRootSchedule(peak: options.learningRate, warmupUpdates: options.warmupUpdates)
        self.batcher = TokenBatcher(maxTokens: options.maxTokens)
        self.train = train
        self.valid = valid
        self.sentencePiece = sentencePiece
        self.saveDirectory = options.saveDirectory
        self.metrics = MetricsLog(directory: options.saveDirectory)
        self.state = state
        self.group = group
    }

    /// Whether this process validates, logs and writes files: a single process, or rank 0.
    var isLeader: Bool { group?.isLeader ?? true }

    var lastCheckpointPath: String { path("checkpoint_last.safetensors") }
    var bestCheckpointPath: String { path("checkpoint_best.safetensors") }
    func path(_ name: String) -> String { (saveDirectory as NSString).appendingPathComponent(name) }

    // MARK: - The loop

    /// Trains until a stopping condition holds, validating and saving on the way.
    /// - Returns: why it stopped, in words.
    func run() throws -> String {
        let progress =
            isLeader
            ? Progress(
                label: "train", total: options.maxUpdates > 0 ? Double(options.maxUpdates) : nil, unit: "updates",
                completed: Double(state.update)) : nil
        var windowStart = monotonicSeconds()
        var windowTokens = 0
        var windowLoss = 0.0, windowNLL = 0.0, windowTargetTokens = 0
        var stopReason = ""
        var windowCommunication = (wait: group?.waitSeconds ?? 0, reduce: group?.reduceSeconds ?? 0)
        while true {
            if let group {
                let agreed = try group.agree(
                    interrupted: interruptRequested.load(ordering: .relaxed), trainingSeconds: state.trainingSeconds)
                if agreed.interrupted { interruptRequested.store(true, ordering: .relaxed) }
                state.trainingSeconds = agreed.trainingSeconds
            }
            if let reason = stopCondition() {
                stopReason = reason
                break
            }
            let started = monotonicSeconds()
            let result = try runUpdate()
            state.trainingSeconds += monotonicSeconds() - started
            windowTokens += result.tokens
            windowLoss += result.loss
            windowNLL += result.nll
            windowTargetTokens += result.tokens

            if state.update % options.logEvery == 0 {
                let now = monotonicSeconds()
                let rate = Double(windowTokens) / max(now - windowStart, 1e-9)
                let loss = windowLoss / Double(max(windowTargetTokens, 1))
                let nll = windowNLL / Double(max(windowTargetTokens, 1))
                let lr = schedule.learningRate(at: state.update)
                var record = [
                    "update": Double(state.update), "epoch": Double(state.epoch), "loss": loss, "nll_loss": nll,
                    "ppl": exp(nll), "lr": lr, "target_tokens_per_second": rate,
                    "wall_seconds": state.trainingSeconds,
                ]
                if let group {
                    record["ranks"] = Double(group.size)
                    record["wait_seconds"] = group.waitSeconds - windowCommunication.wait
                    record["allreduce_seconds"] = group.reduceSeconds - windowCommunication.reduce
                    windowCommunication = (group.waitSeconds, group.reduceSeconds)
                }
                if isLeader { try metrics.append(record) }
                progress?.update(
                    completed: Double(state.update),
                    note: "epoch \(state.epoch) loss \(format(loss, 3)) ppl \(format(exp(nll), 2)) "
                        + "lr \(String(format: "%.2e", lr)) \(Int(rate)) tok/s" + budgetNote())
                windowStart = now
                windowTokens = 0
                windowLoss = 0
                windowNLL = 0
                windowTargetTokens = 0
            }
            if let group, group.checkEvery > 0, state.update % group.checkEvery == 0 {
                try group.checkReplicas(parameters.map(\.parameter), update: state.update, checkpoint: lastCheckpointPath)
            }
            if state.update % options.validateEvery == 0 {
                if try validateAndSaveOnLeader() {
                    stopReason = "no improvement in \(options.patience) validations (--patience)"
                    break
                }
            }
        }
        progress?.finish()
        if state.update % options.validateEvery != 0 || state.update == 0 {
            _ = try validateAndSaveOnLeader()
        }
        return stopReason
    }

    /// Why training should stop now, or nil.
    func stopCondition() -> String? {
        if interruptRequested.load(ordering: .relaxed) { return "interrupted" }
        if options.maxUpdates > 0 && state.update >= options.maxUpdates {
            return "reached --max-updates \(options.maxUpdates)"
        }
        if options.maxEpochs > 0 && state.epoch > options.maxEpochs {
            return "reached --max-epochs \(options.maxEpochs)"
        }
        if options.timeBudget > 0 && state.trainingSeconds >= options.timeBudget {
            return "used the --time-budget of \(formatDuration(options.timeBudget))"
        }
        return nil
    }

    private func budgetNote() -> String {
        guard options.timeBudget > 0 else { return "" }
        return " budget left " + formatDuration(max(options.timeBudget - state.trainingSeconds, 0))
    }

    /// The batches of `epoch` (rebuilt from the seed, so a resumed run sees the same ones).
    func batches(ofEpoch epoch: Int) -> [[Int]] {
        if let cached = epochBatches, cached.epoch == epoch { return cached.batches }
        let batches = batcher.batches(
            sourceLengths: train.source.map(\.count), targetLengths: train.target.map(\.count),
            seed: TokenBatcher.epochSeed(runSeed: UInt64(options.seed), epoch: epoch))
        epochBatches = (epoch, batches)
        return batches
    }

    /// The next batch of the data, moving to the next epoch when one is used up.
    private func nextBatch() -> [Int] {
        var batches = batches(ofEpoch: state.epoch)
        if state.batchInEpoch >= batches.count {
            state.epoch += 1
            state.batchInEpoch = 0
            batches = self.batches(ofEpoch: state.epoch)
        }
        defer { state.batchInEpoch += 1 }
        return batches[state.batchInEpoch]
    }

    /// One update: `--update-freq` batches forward and backward, gradients averaged over their
    /// target tokens, clipped, and one Adam step. In an MPI job of N ranks the update takes N times
    /// as many batches, each rank computing its own (``DataParallelGroup``), and the gradients and
    /// token counts are summed over the ranks before the division.
    /// - Returns: summed label-smoothed loss, summed NLL and target tokens of the update.
    private func runUpdate() throws -> (loss: Double, nll: Double, tokens: Int) {
        var lossSum = 0.0, nllSum = 0.0, tokens = 0
        for part in 0..<options.updateFrequency * (group?.size ?? 1) {
            let batch = nextBatch()
            if let group, DataParallelGroup.rank(ofPart: part, updateFrequency: options.updateFrequency) != group.rank {
                continue
            }
            // Dropout masks follow from (seed, update, part) alone: resuming reproduces them.
            let seed = SplitMix64.mix(UInt64(options.seed) &* 0x2545_F491_4F6C_DD1D &+ UInt64(state.update * 64 + part))
            tape.reseed(seed)
            let (source, previous, target) = tensors(for: batch, in: train)
            let result = model.loss(
                source: source, previousOutput: previous, target: target,
                labelSmoothing: Float(options.labelSmoothing), on: tape)
            let loss = Double(result.loss.value.scalar)
            // In an MPI job a non-finite loss is caught on the sum below, by every rank at once.
            guard loss.isFinite || group != nil else {
                throw RuntimeError(
                    "the loss became \(loss) at update \(state.update + 1) (a batch of \(batch.count) sentences); "
                        + "training stopped, and \(lastCheckpointPath) still holds the last good checkpoint")
            }
            if loss.isFinite { tape.backward(from: result.loss) }
            lossSum += loss
            nllSum += result.nllLoss
            tokens += result.tokenCount
        }
        if let group {
            (lossSum, nllSum, tokens) = try group.sumTotals(loss: lossSum, nll: nllSum, tokens: tokens)
            guard lossSum.isFinite else {
                throw SharedFailure(
                    "the loss became \(lossSum) at update \(state.update + 1) (summed over \(group.size) ranks); "
                        + "training stopped, and \(lastCheckpointPath) still holds the last good checkpoint")
            }
            try group.sumGradients(parameters.map(\.parameter))
        }
        let scale = Float(1 / Double(max(tokens, 1)))
        for (_, parameter) in parameters {
            parameter.gradient.withUnsafeMutableBufferPointer { g in
                for i in 0..<g.count { g[i] *= scale }
            }
        }
        if options.clipNorm > 0 {
            let norm = clipGradientNorm(parameters, maxNorm: options.clipNorm)
            guard norm.isFinite else {
                let message =
                    "the gradient norm became \(norm) at update \(state.update + 1); training stopped, and "
                    + "\(lastCheckpointPath) still holds the last good checkpoint"
                throw group == nil ? RuntimeError(message) : SharedFailure(message)
            }
        }
        state.update += 1
        optimizer.update(learningRate: schedule.learningRate(at: state.update))
        for (_, parameter) in parameters { parameter.zeroGradient() }
        return (lossSum, nllSum, tokens)
    }

    /// Source `[B, N]` (ids + EOS), decoder input `[B, T]` (EOS + ids) and target `[B, T]` (ids + EOS).
    func tensors(for batch: [Int], in corpus: EncodedCorpus) -> (TokenBatch, TokenBatch, TokenBatch) {
        let c = model.configuration
        let source = TokenBatch(rows: batch.map { corpus.source[$0] + [c.eosId] }, padId: c.padId)
        let previous = TokenBatch(rows: batch.map { [c.eosId] + corpus.target[$0] }, padId: c.padId)
        let target = TokenBatch(rows: batch.map { corpus.target[$0] + [c.eosId] }, padId: c.padId)
        return (source, previous, target)
    }

    // MARK: - Validation and checkpoints

    /// ``validateAndSave()`` on a single process or rank 0; in an MPI job every rank learns rank
    /// 0's answer.
    private func validateAndSaveOnLeader() throws -> Bool {
        guard let group else { return try validateAndSave() }
        let stop = group.isLeader ? try validateAndSave() : false
        return try group.leaderDecision(stop)
    }

    /// Validates (when there is a validation set), saves `checkpoint_last` and, on improvement,
    /// `checkpoint_best` and the model directory's weights.
    /// - Returns: whether patience has run out.
    func validateAndSave() throws -> Bool {
        var improved = valid == nil
        if let valid {
            let result = try validate(valid)
            let value = options.bestMetric == "bleu" ? result.bleu.score : result.loss
            let better = state.bestValidation.map { options.bestMetric == "bleu" ? value > $0 : value < $0 } ?? true
            if better {
                state.bestValidation = value
                state.validationsWithoutImprovement = 0
                improved = true
            } else {
                state.validationsWithoutImprovement += 1
            }
            try metrics.append([
                "update": Double(state.update), "epoch": Double(state.epoch), "valid_loss": result.loss,
                "valid_nll_loss": result.nllLoss, "valid_ppl": exp(result.nllLoss), "valid_bleu": result.bleu.score,
                "wall_seconds": state.trainingSeconds,
            ])
            try metrics.writePlot()
            writeStandardError(
                "valid: update \(state.update) loss \(format(result.loss, 3)) ppl \(format(exp(result.nllLoss), 2)) "
                    + "BLEU \(format(result.bleu.score, 2)) (\(result.signature))"
                    + (better ? " best" : "") + " [\(format(result.seconds, 1)) s]\n")
        }
        try TrainingCheckpoint.write(model: model, optimizer: optimizer, state: state, to: lastCheckpointPath)
        try TrainingCheckpoint.keepWeights(
            of: model, update: state.update, in: saveDirectory, keeping: options.keepLast)
        if improved {
            try TrainingCheckpoint.write(model: model, optimizer: optimizer, state: state, to: bestCheckpointPath)
            do { try ModelDirectory.save(model, to: saveDirectory) } catch { throw RuntimeError(error.description) }
        }
        return options.patience > 0 && state.validationsWithoutImprovement >= options.patience
    }

    /// Loss over the validation pairs (dropout off) and BLEU of their decoded translations against
    /// the raw references.
    func validate(_ valid: ValidationSet) throws -> ValidationResult {
        let started = monotonicSeconds()
        var lossSum = 0.0, nllSum = 0.0, tokens = 0
        let batches = batcher.batches(
            sourceLengths: valid.encoded.source.map(\.count), targetLengths: valid.encoded.target.map(\.count),
            seed: 0, shuffle: false)
        for batch in batches {
            let (source, previous, target) = tensors(for: batch, in: valid.encoded)
            let result = model.loss(
                source: source, previousOutput: previous, target: target,
                labelSmoothing: Float(options.labelSmoothing), on: nil)
            lossSum += Double(result.loss.value.scalar)
            nllSum += result.nllLoss
            tokens += result.tokenCount
        }
        let hypotheses = try translate(valid.encoded.source)
        let bleu = BLEU()
        let score: BLEUScore
        do { score = try bleu.corpusScore(hypotheses: hypotheses, references: [valid.references]) } catch {
            throw RuntimeError("validation BLEU: \(error)")
        }
        return ValidationResult(
            loss: lossSum / Double(max(tokens, 1)), nllLoss: nllSum / Double(max(tokens, 1)), bleu: score,
            signature: bleu.signature(referenceCount: 1).format(), seconds: monotonicSeconds() - started)
    }

    /// Decodes sources (ids without EOS) with the validation beam and detokenizes, in input order.
    func translate(_ sources: [[Int]]) throws -> [String] {
        var decoding = DecodingOptions()
        decoding.beamSize = options.validationBeam
        let translator = Translator(
            model: model, options: decoding, limits: BatchLimits(sentences: max(1, 64 / options.validationBeam)))
        let outputs = translator.translate(sources).map { $0.first?.tokens ?? [] }
        do { return try sentencePiece.decode(outputs) } catch { throw RuntimeError("\(error)") }
    }
}

/// A number with `digits` decimals.
func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

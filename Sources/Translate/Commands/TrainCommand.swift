import CLI
import Foundation
import Seq2Seq
import Tokenize

/// `translate train`: from raw parallel text to a model directory, resumable.
let trainCommand = Command(
    name: "train",
    abstract: "Train a Luna or Transformer model on raw parallel text.",
    discussion: """
        Writes to --save-dir: config.json, model.safetensors and spm.model (the best model so far, a
        model directory for 'translate decode --model'), checkpoint_last.safetensors and
        checkpoint_best.safetensors (parameters, optimizer moments and position in the data),
        train-config.json (the resolved options), metrics.jsonl and metrics.svg.
        Rerunning the same command continues from checkpoint_last. Ctrl-C saves it and stops.
        """,
    options: ModelTrainingOptions.options
) { arguments in
    let options = try ModelTrainingOptions.resolve(arguments, parse: trainCommand.parse)
    try options.validate()
    BLAS.threadCount = options.threads
    Parallel.threadCount = options.threads
    // Under mpirun: one rank of a data-parallel job (docs/distributed.md); otherwise no MPI at all.
    let group = try DataParallelGroup.fromEnvironment(checkEvery: options.replicaCheckEvery)
    do { try TrainRun(options: options, group: group).run() } catch { throw group?.reportable(error) ?? error }
}

/// One invocation of `translate train`, checked input first, training last.
struct TrainRun {
    let options: ModelTrainingOptions
    /// The MPI job this process is a rank of; only rank 0 reads the save directory or writes files.
    var group: DataParallelGroup? = nil

    var isLeader: Bool { group?.isLeader ?? true }

    var saveDirectory: String { options.saveDirectory }
    func path(_ name: String) -> String { (saveDirectory as NSString).appendingPathComponent(name) }

    func run() throws {
        // Every input is read and checked before any training time is spent.
        let corpora = try options.trainPairs.map { try ParallelCorpus.load(source: $0[0], target: $0[1]) }
        let validCorpus =
            isLeader ? try options.validPair.map { try ParallelCorpus.load(source: $0[0], target: $0[1]) } : nil
        if isLeader { try prepareSaveDirectory() }
        let sentencePiece = try group.map(sharedSentencePiece) ?? loadOrTrainSentencePiece()
        let configuration = try modelConfiguration(vocabulary: sentencePiece)
        if isLeader { try checkExistingModel(against: configuration) }

        var train = EncodedCorpus(source: [], target: [], kept: [], emptyPairs: 0, longPairs: 0)
        for corpus in corpora {
            let encoded = try EncodedCorpus.encode(corpus, with: sentencePiece, maxLength: options.maxLength)
            if isLeader, let warning = encoded.skippedWarning(corpusName: corpus.name, maxLength: options.maxLength) {
                writeStandardError(warning + "\n")
            }
            train.source += encoded.source
            train.target += encoded.target
        }
        guard train.count > 0 else { throw RuntimeError("no training pairs left after skipping empty and overlong ones") }
        var valid: ValidationSet?
        if let validCorpus {
            let encoded = try EncodedCorpus.encode(validCorpus, with: sentencePiece, maxLength: options.maxLength)
            if let warning = encoded.skippedWarning(corpusName: validCorpus.name, maxLength: options.maxLength) {
                writeStandardError(warning + "\n")
            }
            valid = ValidationSet(encoded: encoded, references: encoded.kept.map { validCorpus.target[$0] })
        }

        let model = EncoderDecoder(configuration, seed: UInt64(options.seed))
        let optimizer = Adam(parameters: model.parameters(prefix: ""))
        var state = TrainerState()
        let checkpoint = path("checkpoint_last.safetensors")
        if !isLeader {
            // Rank 0 reads or starts the run and shares it below.
        } else if FileManager.default.fileExists(atPath: checkpoint) {
            state = try TrainingCheckpoint.read(from: checkpoint, into: model, optimizer: optimizer)
            try MetricsLog(directory: saveDirectory).truncate(afterUpdate: state.update)
            writeStandardError("resuming from \(checkpoint) at update \(state.update), epoch \(state.epoch)\n")
        } else {
            do { try ModelDirectory.save(model, to: saveDirectory) } catch { throw RuntimeError(error.description) }
        }
        if let group { state = try group.shareTrainingState(model: model, optimizer: optimizer, state: state) }
        if isLeader {
            let configData = try JSONSerialization.data(
                withJSONObject: options.configObject(), options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(configData + Data("\n".utf8), to: path("train-config.json"))

            writeStandardError(
                "train: \(configuration.arch.rawValue), \(model.parameterCount) parameters, \(train.count) pairs"
                    + (valid.map { ", \($0.encoded.count) validation pairs" } ?? "") + ", vocabulary \(configuration.vocabularySize)\n")
        }
        if isLeader, let group {
            writeStandardError(
                "train: \(group.size) data-parallel ranks, \(options.updateFrequency * group.size) batches per update "
                    + "(--update-freq \(options.updateFrequency) on each)\n")
        }
        // mpirun kills the ranks a second after Ctrl-C, too soon to save, but forwards SIGUSR1 at once.
        installInterruptHandler(alsoOn: group == nil ? [] : [SIGUSR1])
        let trainer = Trainer(
            options: options, model: model, optimizer: optimizer, train: train, valid: valid,
            sentencePiece: sentencePiece, state: state, group: group)
        let reason = try trainer.run()
        if let group {
            let checksum = try group.checkReplicas(
                trainer.parameters.map(\.parameter), update: trainer.state.update, checkpoint: trainer.lastCheckpointPath)
            if isLeader {
                writeStandardError(
                    group.summary(
                        parameterCount: model.parameterCount, trainingSeconds: trainer.state.trainingSeconds,
                        checksum: checksum))
            }
            try group.finish()
        }
        guard isLeader else {
            if reason == "interrupted" { throw ExitRequest(status: 130) }
            return
        }
        var summary = "stopped: \(reason) after \(trainer.state.update) updates (epoch \(trainer.state.epoch), "
            + "\(formatDuration(trainer.state.trainingSeconds)) of training)"
        if let best = trainer.state.bestValidation {
            summary += "; best validation \(options.bestMetric) \(format(best, 2))"
        }
        writeStandardOutput(summary + "; model in \(saveDirectory)\n")
        if reason == "interrupted" { throw ExitRequest(status: 130) }
    }

    /// Rank 0's SentencePiece model (given, resumed or trained by rank 0 alone) on every rank.
    private func sharedSentencePiece(_ group: DataParallelGroup) throws -> SentencePieceModel {
        let model = isLeader ? try loadOrTrainSentencePiece() : nil
        let bytes = try group.communicator.broadcast(
            isLeader ? try Data(contentsOf: URL(fileURLWithPath: path("spm.model"))) : Data(), root: 0)
        if let model { return model }
        do { return try SentencePieceModel(bytes: bytes, name: "spm.model of rank 0") } catch {
            throw RuntimeError(error.description)
        }
    }

    private func prepareSaveDirectory() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: saveDirectory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw RuntimeError("--save-dir \(saveDirectory) is a file, not a folder") }
            return
        }
        do { try FileManager.default.createDirectory(atPath: saveDirectory, withIntermediateDirectories: true) } catch {
            throw RuntimeError("--save-dir \(saveDirectory): cannot create (\(error.localizedDescription))")
        }
    }

    /// `--spm` copied into the save directory, the one already there (resume), or a new joint
    /// model trained on the source and target training files.
    private func loadOrTrainSentencePiece() throws -> SentencePieceModel {
        let target = path("spm.model")
        do {
            if let given = options.sentencePieceModel {
                let model = try SentencePieceModel(contentsOf: given)
                if (given as NSString).standardizingPath != (target as NSString).standardizingPath {
                    try AtomicFile.write(try Data(contentsOf: URL(fileURLWithPath: given)), to: target)
                }
                return model
            }
            if FileManager.default.fileExists(atPath: target) { return try SentencePieceModel(contentsOf: target) }
            writeStandardError("train: training a joint SentencePiece model of \(options.vocabularySize) pieces...\n")
            var spmOptions = TrainingOptions()
            spmOptions.vocabularySize = options.vocabularySize
            spmOptions.seed = UInt32(truncatingIfNeeded: options.seed)
            spmOptions.inputSentenceSize = 2_000_000
            return try SentencePieceModel.train(
                inputs: options.trainPairs.flatMap { $0 }, modelPrefix: path("spm"), options: spmOptions)
        } catch let error as TokenizeError {
            throw RuntimeError(error.description)
        }
    }

    /// The model's configuration from the options and the vocabulary.
    func modelConfiguration(vocabulary: SentencePieceModel) throws -> ModelConfiguration {
        var c = ModelConfiguration(
            arch: ModelConfiguration.Architecture(rawValue: options.arch)!,
            vocabularySize: vocabulary.vocabularySize, modelDimension: options.modelDimension,
            encoderLayers: options.encoderLayers, decoderLayers: options.decoderLayers,
            attentionHeads: options.attentionHeads, packHeads: options.packHeads,
            ffnDimension: options.ffnDimension, projectionLength: options.projectionLength)
        c.causalActivation = ModelConfiguration.CausalActivation(rawValue: options.causalActivation)!
        c.crossAttention = ModelConfiguration.CrossAttention(rawValue: options.crossAttention)!
        c.normalizeBefore = options.normalizeBefore
        c.tieKeyValue = !options.untieKeyValue
        c.dropout = Float(options.dropout)
        c.attentionDropout = Float(options.attentionDropout)
        c.activationDropout = Float(options.activationDropout)
        let ids = vocabulary.specialIds
        guard let pad = ids.pad, let bos = ids.bos, let eos = ids.eos else {
            throw RuntimeError("the SentencePiece model has no pad, bos or eos piece (\(ids)); train it with translate spm-train")
        }
        c.padId = pad
        c.unknownId = ids.unk
        c.bosId = bos
        c.eosId = eos
        c.maxPositions = max(1024, options.maxLength + 2)
        if let problem = c.problem { throw UsageError(problem) }
        return c
    }

    /// Refuses a save directory that holds a model of another shape (its checkpoint would not load).
    private func checkExistingModel(against configuration: ModelConfiguration) throws {
        guard FileManager.default.fileExists(atPath: path(ModelDirectory.configurationFile)) else { return }
        let existing: ModelConfiguration
        do { existing = try ModelDirectory.configuration(at: saveDirectory) } catch {
            throw RuntimeError(error.description)
        }
        if let difference = structuralDifference(existing, configuration) {
            throw RuntimeError(
                "--save-dir \(saveDirectory) holds a \(existing.arch.rawValue) model that differs from the one asked for "
                    + "(\(difference)); use another --save-dir or the same model flags")
        }
    }
}

/// The first architectural field in which two configurations differ, as `name: old vs new`.
func structuralDifference(_ a: ModelConfiguration, _ b: ModelConfiguration) -> String? {
    let fields: [(String, String, String)] = [
        ("arch", a.arch.rawValue, b.arch.rawValue), ("vocab_size", "\(a.vocabularySize)", "\(b.vocabularySize)"),
        ("d_model", "\(a.modelDimension)", "\(b.modelDimension)"), ("encoder_layers", "\(a.encoderLayers)", "\(b.encoderLayers)"),
        ("decoder_layers", "\(a.decoderLayers)", "\(b.decoderLayers)"),
        ("attention_heads", "\(a.attentionHeads)", "\(b.attentionHeads)"), ("ffn_dim", "\(a.ffnDimension)", "\(b.ffnDimension)"),
        ("normalize_before", "\(a.normalizeBefore)", "\(b.normalizeBefore)"),
    ] + (a.arch == .luna && b.arch == .luna ? [
        ("pack_heads", "\(a.packHeads)", "\(b.packHeads)"), ("projection_length", "\(a.projectionLength)", "\(b.projectionLength)"),
        ("causal_activation", a.causalActivation.rawValue, b.causalActivation.rawValue),
        ("cross_attention", a.crossAttention.rawValue, b.crossAttention.rawValue), ("tie_kv", "\(a.tieKeyValue)", "\(b.tieKeyValue)"),
    ] : [])
    return fields.first { $0.1 != $0.2 }.map { "\($0.0): \($0.1) vs \($0.2)" }
}

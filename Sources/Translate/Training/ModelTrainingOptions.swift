import CLI
import Foundation

/// Everything `translate train` is told: data, model shape, optimisation, stopping, validation.
///
/// Values come, lowest precedence first, from the built-in defaults, the `--preset`, the JSON
/// `--config FILE` (keys are the flag names without dashes, e.g. `"max-tokens": 4096`), and the
/// command line. The resolved values are written back to the save directory as
/// `train-config.json`, in the same key format, so `--config save/train-config.json` repeats a run.
struct ModelTrainingOptions: Equatable {
    // Data
    var trainPairs: [[String]] = []
    var validPair: [String]? = nil
    var sentencePieceModel: String? = nil
    var vocabularySize = 8000
    var saveDirectory = ""
    var maxLength = 256

    // Model
    var arch = "luna"
    var modelDimension = 256
    var attentionHeads = 4
    var packHeads: Int? = nil
    var ffnDimension = 1024
    var encoderLayers = 3
    var decoderLayers = 3
    var projectionLength = 16
    var causalActivation = "softplus"
    var crossAttention = "luna"
    var normalizeBefore = false
    var untieKeyValue = false
    var dropout = 0.1
    var attentionDropout = 0.1
    var activationDropout = 0.1

    // Optimisation
    var learningRate = 1e-3
    var warmupUpdates = 400
    var labelSmoothing = 0.1
    var clipNorm = 0.0
    var maxTokens = 4096
    var updateFrequency = 1
    var seed = 1
    /// Threads for OpenBLAS and the other kernels: a resource setting, not part of the recipe.
    var threads = 2
    /// Under mpirun: compare the ranks' parameter checksums every this many updates (0: only at the
    /// end). A diagnostic setting, not part of the recipe.
    var replicaCheckEvery = 100

    // Stopping and validation
    var maxUpdates = 0
    var maxEpochs = 0
    var timeBudget = 0.0
    var validateEvery = 1000
    var patience = 0
    var bestMetric = "bleu"
    var validationBeam = 1
    var logEvery = 50
    var keepLast = 5

    /// The presets: `small` (d 256, 4 heads, FFN 1024, 3+3 layers) and `base` (the paper's
    /// 512/8/2048/6+6). Every flag given overrides its preset value.
    static let presets: [String: [String: ConfigValue]] = [
        "small": [
            "d-model": .number(256), "attention-heads": .number(4), "ffn-dim": .number(1024),
            "encoder-layers": .number(3), "decoder-layers": .number(3),
        ],
        "base": [
            "d-model": .number(512), "attention-heads": .number(8), "ffn-dim": .number(2048),
            "encoder-layers": .number(6), "decoder-layers": .number(6), "projection-length": .number(32),
        ],
    ]

    /// The command-line options of `translate train`; config-file keys are these names without `--`.
    static let options: [Option] = [
        .values("--train", valueName: "FILE", help: "A source and a target file of line-aligned training text (repeat for several pairs)."),
        .values("--valid", valueName: "FILE", help: "A source and a target file for validation."),
        .value("--spm", valueName: "MODEL", help: "A SentencePiece model to reuse (default: train a joint one on the training text)."),
        .value("--vocab-size", valueName: "N", default: "8000", help: "Vocabulary size of the SentencePiece model trained when --spm is absent."),
        .value("--save-dir", valueName: "DIR", help: "Where the model directory, checkpoints and metrics go (required)."),
        .value("--max-length", valueName: "N", default: "256", help: "Skip training pairs with more tokens than this on either side."),
        .value("--preset", valueName: "NAME", help: "small (d 256, 4 heads, FFN 1024, 3+3 layers) or base (512/8/2048/6+6); flags override it."),
        .value("--config", valueName: "FILE", help: "A JSON file of flag values (keys are flag names without dashes)."),
        .value("--arch", valueName: "ARCH", default: "luna", help: "luna or transformer."),
        .value("--d-model", valueName: "N", default: "256", help: "Model width."),
        .value("--attention-heads", valueName: "N", default: "4", help: "Attention heads (Luna: unpack and causal heads)."),
        .value("--pack-heads", valueName: "N", help: "Luna pack heads (default: --attention-heads)."),
        .value("--ffn-dim", valueName: "N", default: "1024", help: "Inner width of the feed-forward blocks."),
        .value("--encoder-layers", valueName: "N", default: "3", help: "Encoder layers."),
        .value("--decoder-layers", valueName: "N", default: "3", help: "Decoder layers."),
        .value("--projection-length", valueName: "L", default: "16", help: "Luna projection length l."),
        .value("--causal-activation", valueName: "NAME", default: "softplus", help: "Causal Luna weights: softplus or elu."),
        .value("--cross-attention", valueName: "KIND", default: "luna", help: "Luna decoder cross-attention: luna (packed) or softmax."),
        .flag("--normalize-before", help: "Pre-norm layers (default: post-norm, as the WMT recipe)."),
        .flag("--untie-kv", help: "Separate key and value projections in Luna attention."),
        .value("--dropout", valueName: "P", default: "0.1", help: "Dropout on embeddings and residual branches."),
        .value("--attention-dropout", valueName: "P", default: "0.1", help: "Dropout on attention weights."),
        .value("--activation-dropout", valueName: "P", default: "0.1", help: "Dropout after the FFN activation."),
        .value("--lr", valueName: "RATE", default: "0.001", help: "Peak learning rate (Adam, betas 0.9 0.98)."),
        .value("--warmup-updates", valueName: "N", default: "400", help: "Linear warmup updates before the inverse-square-root decay."),
        .value("--label-smoothing", valueName: "EPS", default: "0.1", help: "Label smoothing of the cross-entropy."),
        .value("--clip-norm", valueName: "X", default: "0", help: "Clip the global gradient norm to X (0: no clipping)."),
        .value("--max-tokens", valueName: "N", default: "4096", help: "Tokens per batch, padding included."),
        .value("--update-freq", valueName: "N", default: "1", help: "Batches accumulated per update."),
        .value("--seed", valueName: "N", default: "1", help: "Seed of initialisation, batching and dropout."),
        .value("--threads", valueName: "N", default: "2", help: "Threads for OpenBLAS and the other kernels."),
        .value("--replica-check-every", valueName: "N", default: "100", help: "Under mpirun: compare a checksum of every rank's parameters every N updates and at the end (0: only at the end)."),
        .value("--max-updates", valueName: "N", default: "0", help: "Stop after N updates (0: no limit)."),
        .value("--max-epochs", valueName: "N", default: "0", help: "Stop after N epochs (0: no limit)."),
        .value("--time-budget", valueName: "SECONDS", default: "0", help: "Stop after this much training time (0: no limit)."),
        .value("--validate-every", valueName: "N", default: "1000", help: "Validate every N updates (and at the end)."),
        .value("--patience", valueName: "N", default: "0", help: "Stop after N validations without improvement (0: never)."),
        .value("--best-metric", valueName: "NAME", default: "bleu", help: "What checkpoint_best maximises: bleu or loss (minimised)."),
        .value("--valid-beam", valueName: "N", default: "1", help: "Beam size of validation decoding (1: greedy)."),
        .value("--log-every", valueName: "N", default: "50", help: "Log a metrics line every N updates."),
        .value("--keep-last", valueName: "N", default: "5", help: "Keep the weights of the last N validations as checkpoint_UPDATE.safetensors (for translate average; 0: none)."),
    ]

    /// Resolves defaults, preset, config file and flags into options.
    ///
    /// - Throws: `UsageError` naming the flag (or the config file and key) and what it accepts.
    static func resolve(_ arguments: ParsedArguments, parse: ([String]) throws -> ParsedArguments) throws
        -> ModelTrainingOptions
    {
        var layered: [String] = []
        if let preset = arguments.string("--preset") {
            guard let values = presets[preset] else {
                throw UsageError("--preset must be one of \(presets.keys.sorted().joined(separator: ", ")), got '\(preset)'")
            }
            layered += try commandLine(from: values, source: "preset \(preset)")
        }
        if let path = arguments.string("--config") {
            let configArguments = try commandLine(from: try readConfig(path), source: path)
            do {
                _ = try from(parse(configArguments))
            } catch let error as UsageError {
                throw UsageError("\(path): \(error.message)")
            }
            layered += configArguments
        }
        return try from(parse(layered + arguments.rawArguments))
    }

    /// The JSON object of a config file.
    static func readConfig(_ path: String) throws -> [String: ConfigValue] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RuntimeError("\(path): no such file")
        }
        guard let object = try? JSONDecoder().decode([String: ConfigValue].self, from: data) else {
            throw RuntimeError("\(path): not a JSON object of flag values")
        }
        return object
    }

    /// Config values as the flags that would set them: `{"max-tokens": 4096}` → `--max-tokens 4096`.
    static func commandLine(from values: [String: ConfigValue], source: String) throws -> [String] {
        var arguments: [String] = []
        for key in values.keys.sorted() {
            let flag = "--" + key
            guard let option = options.first(where: { $0.names.contains(flag) }), key != "config", key != "preset"
            else {
                throw UsageError("\(source): unknown key '\(key)'")
            }
            let value = values[key]!
            switch (option.arity, value) {
            case (.flag, .bool(let on)):
                if on { arguments.append(flag) }
            case (.flag, _):
                throw UsageError("\(source): '\(key)' must be true or false")
            case (.one, _):
                guard let text = value.scalarText else {
                    throw UsageError("\(source): '\(key)' must be a string or a number")
                }
                arguments += [flag, text]
            case (.many, .list(let items)):
                // One list of values, or a list of lists for an option that repeats (several --train pairs).
                let groups = items.allSatisfy({ $0.scalarText == nil }) ? items : [value]
                for group in groups {
                    guard case .list(let members) = group, let texts = Optional(members.compactMap(\.scalarText)),
                        texts.count == members.count
                    else { throw UsageError("\(source): '\(key)' must be a list of strings or of lists") }
                    arguments += [flag] + texts
                }
            case (.many, _):
                guard let text = value.scalarText else {
                    throw UsageError("\(source): '\(key)' must be a list of strings or of lists")
                }
                arguments += [flag, text]
            }
        }
        return arguments
    }

    /// Typed, range-checked values from parsed flags.
    static func from(_ a: ParsedArguments) throws -> ModelTrainingOptions {
        var o = ModelTrainingOptions()
        o.trainPairs = a.occurrences("--train")
        for pair in o.trainPairs where pair.count != 2 {
            throw UsageError("--train takes a source and a target file, got \(pair.count) file(s): \(pair.joined(separator: " "))")
        }
        if a.has("--valid") {
            let valid = a.occurrences("--valid").last!
            guard valid.count == 2 else { throw UsageError("--valid takes a source and a target file, got \(valid.count)") }
            o.validPair = valid
        }
        o.sentencePieceModel = a.string("--spm")
        o.vocabularySize = try a.int("--vocab-size", default: o.vocabularySize, min: 16, max: 1_000_000)
        o.saveDirectory = a.string("--save-dir") ?? ""
        o.maxLength = try a.int("--max-length", default: o.maxLength, min: 1, max: 100_000)
        o.arch = try a.choice("--arch", default: o.arch, from: ["luna", "transformer"])
        o.modelDimension = try a.int("--d-model", default: o.modelDimension, min: 2, max: 65536)
        o.attentionHeads = try a.int("--attention-heads", default: o.attentionHeads, min: 1, max: 1024)
        o.packHeads = a.has("--pack-heads") ? try a.int("--pack-heads", default: 1, min: 1, max: 1024) : nil
        o.ffnDimension = try a.int("--ffn-dim", default: o.ffnDimension, min: 1, max: 1 << 20)
        o.encoderLayers = try a.int("--encoder-layers", default: o.encoderLayers, min: 1, max: 128)
        o.decoderLayers = try a.int("--decoder-layers", default: o.decoderLayers, min: 1, max: 128)
        o.projectionLength = try a.int("--projection-length", default: o.projectionLength, min: 1, max: 65536)
        o.causalActivation = try a.choice("--causal-activation", default: o.causalActivation, from: ["softplus", "elu"])
        o.crossAttention = try a.choice("--cross-attention", default: o.crossAttention, from: ["luna", "softmax"])
        o.normalizeBefore = a.has("--normalize-before")
        o.untieKeyValue = a.has("--untie-kv")
        o.dropout = try a.double("--dropout", default: o.dropout, min: 0, max: 0.99)
        o.attentionDropout = try a.double("--attention-dropout", default: o.attentionDropout, min: 0, max: 0.99)
        o.activationDropout = try a.double("--activation-dropout", default: o.activationDropout, min: 0, max: 0.99)
        o.learningRate = try a.double("--lr", default: o.learningRate, min: 1e-12, max: 10)
        o.warmupUpdates = try a.int("--warmup-updates", default: o.warmupUpdates, min: 1, max: 100_000_000)
        o.labelSmoothing = try a.double("--label-smoothing", default: o.labelSmoothing, min: 0, max: 0.99)
        o.clipNorm = try a.double("--clip-norm", default: o.clipNorm, min: 0, max: 1e6)
        o.maxTokens = try a.int("--max-tokens", default: o.maxTokens, min: 16, max: 10_000_000)
        o.updateFrequency = try a.int("--update-freq", default: o.updateFrequency, min: 1, max: 1024)
        o.seed = try a.int("--seed", default: o.seed, min: 0, max: Int(Int32.max))
        o.threads = try a.int("--threads", default: o.threads, min: 1, max: 256)
        o.replicaCheckEvery = try a.int("--replica-check-every", default: o.replicaCheckEvery, min: 0)
        o.maxUpdates = try a.int("--max-updates", default: o.maxUpdates, min: 0)
        o.maxEpochs = try a.int("--max-epochs", default: o.maxEpochs, min: 0)
        o.timeBudget = try a.double("--time-budget", default: o.timeBudget, min: 0)
        o.validateEvery = try a.int("--validate-every", default: o.validateEvery, min: 1)
        o.patience = try a.int("--patience", default: o.patience, min: 0)
        o.bestMetric = try a.choice("--best-metric", default: o.bestMetric, from: ["bleu", "loss"])
        o.validationBeam = try a.int("--valid-beam", default: o.validationBeam, min: 1, max: 64)
        o.logEvery = try a.int("--log-every", default: o.logEvery, min: 1)
        o.keepLast = try a.int("--keep-last", default: o.keepLast, min: 0, max: 1000)
        return o
    }

    /// Checks that need more than one flag; run before any data is read.
    func validate() throws {
        if trainPairs.isEmpty { throw UsageError("missing required option --train SRC TGT") }
        if saveDirectory.isEmpty { throw UsageError("missing required option --save-dir") }
        if modelDimension % attentionHeads != 0 {
            throw UsageError("--attention-heads \(attentionHeads) must divide --d-model \(modelDimension)")
        }
        if let packHeads, modelDimension % packHeads != 0 {
            throw UsageError("--pack-heads \(packHeads) must divide --d-model \(modelDimension)")
        }
        if modelDimension % 2 != 0 { throw UsageError("--d-model must be even, got \(modelDimension)") }
        if bestMetric == "bleu" && validPair == nil && patience > 0 {
            throw UsageError("--patience needs --valid")
        }
    }

    /// The resolved options as a config file (`train-config.json`): keys are flag names.
    func configObject() -> [String: Any] {
        var object: [String: Any] = [
            "train": trainPairs, "vocab-size": vocabularySize, "save-dir": saveDirectory,
            "max-length": maxLength, "arch": arch, "d-model": modelDimension,
            "attention-heads": attentionHeads, "ffn-dim": ffnDimension, "encoder-layers": encoderLayers,
            "decoder-layers": decoderLayers, "projection-length": projectionLength,
            "causal-activation": causalActivation, "cross-attention": crossAttention,
            "normalize-before": normalizeBefore, "untie-kv": untieKeyValue, "dropout": dropout,
            "attention-dropout": attentionDropout, "activation-dropout": activationDropout,
            "lr": learningRate, "warmup-updates": warmupUpdates, "label-smoothing": labelSmoothing,
            "clip-norm": clipNorm, "max-tokens": maxTokens, "update-freq": updateFrequency, "seed": seed,
            "max-updates": maxUpdates, "max-epochs": maxEpochs, "time-budget": timeBudget,
            "validate-every": validateEvery, "patience": patience, "best-metric": bestMetric,
            "valid-beam": validationBeam, "log-every": logEvery, "keep-last": keepLast,
        ]
        if let validPair { object["valid"] = validPair }
        if let sentencePieceModel { object["spm"] = sentencePieceModel }
        if let packHeads { object["pack-heads"] = packHeads }
        return object
    }
}

/// One value of a JSON config file: what a flag's value can be written as.
enum ConfigValue: Decodable, Equatable, Sendable {
    case bool(Bool)
    case number(Double)
    case string(String)
    case list([ConfigValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else { self = .list(try container.decode([ConfigValue].self)) }
    }

    /// A string or number as a flag value would be typed (`4096`, not `4096.0`); nil otherwise.
    var scalarText: String? {
        switch self {
        case .string(let text): return text
        case .number(let value):
            return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .bool, .list: return nil
        }
    }
}

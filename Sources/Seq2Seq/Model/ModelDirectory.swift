import Foundation

// The model directory of architecture.md: config.json + model.safetensors (+ spm.model, read by Tokenize).
// Names and aliases: ../shared/fixtures/luna-parity/README.md; our own description: docs/model-format.md.

/// Why a model directory could not be read or written; every case names the file, and the tensor when
/// one is at fault.
public enum ModelDirectoryError: Error, CustomStringConvertible, Equatable {
    /// A file is absent or unreadable.
    case unreadable(path: String, reason: String)
    /// `config.json` does not parse or is inconsistent.
    case invalidConfiguration(path: String, reason: String)
    /// A tensor the configuration needs is absent, has another shape or dtype, or the file is malformed.
    case invalidWeights(path: String, reason: String)
    /// An alias of the shared embedding differs from `encoder.embed_tokens.weight`.
    case aliasMismatch(path: String, name: String)
    /// A tensor this configuration has no place for (and not a known official extra).
    case unexpectedTensor(path: String, name: String)
    /// A file could not be written.
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path): \(reason)"
        case .invalidConfiguration(let path, let reason): "\(path): invalid model configuration: \(reason)"
        case .invalidWeights(let path, let reason): "\(path): \(reason)"
        case .aliasMismatch(let path, let name):
            "\(path): tensor '\(name)' must equal 'encoder.embed_tokens.weight' (it is an alias of the shared embedding)"
        case .unexpectedTensor(let path, let name):
            "\(path): unexpected tensor '\(name)' for this config.json (wrong architecture or options?)"
        case .unwritable(let path, let reason): "\(path): \(reason)"
        }
    }
}

/// Reads and writes model directories: `config.json` (``ModelConfiguration``) and `model.safetensors`
/// (float32 weights under the official state-dict names).
public enum ModelDirectory {
    public static let configurationFile = "config.json"
    public static let weightsFile = "model.safetensors"
    public static let sentencePieceFile = "spm.model"

    /// Names under which the official state dict repeats the shared embedding.
    public static let embeddingAliases = ["decoder.embed_tokens.weight", "decoder.output_projection.weight"]

    /// Keys an official (fairseq / fairseq-apollo) state dict holds beyond ours, accepted and ignored:
    /// version counters, the sinusoid buffers, P's sinusoid, and pre-norm Luna's unused final decoder P norm.
    public static let ignoredOfficialKeys: Set<String> = [
        "encoder.version", "decoder.version", "encoder.embed_positions._float_tensor",
        "decoder.embed_positions._float_tensor", "encoder.projected_positions", "decoder.proj_layer_norm.weight",
        "decoder.proj_layer_norm.bias",
    ]

    /// The configuration of the model directory at `path`.
    public static func configuration(at path: String) throws(ModelDirectoryError) -> ModelConfiguration {
        let file = (path as NSString).appendingPathComponent(configurationFile)
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw .unreadable(path: file, reason: "cannot read the model configuration (is \(path) a model directory?)")
        }
        let configuration: ModelConfiguration
        do { configuration = try JSONDecoder().decode(ModelConfiguration.self, from: data) } catch {
            throw .invalidConfiguration(path: file, reason: describe(error))
        }
        if let problem = configuration.problem { throw .invalidConfiguration(path: file, reason: problem) }
        return configuration
    }

    /// Loads the model at `path`: builds it from `config.json` and fills every parameter from
    /// `model.safetensors`, checking shapes, the embedding aliases, and that no tensor is left over.
    public static func load(_ path: String) throws(ModelDirectoryError) -> EncoderDecoder {
        let model = EncoderDecoder(try configuration(at: path), seed: 0)
        let file = (path as NSString).appendingPathComponent(weightsFile)
        let tensors: [String: Tensor]
        do { tensors = try SafeTensors(contentsOf: file).floatTensors() } catch {
            throw .invalidWeights(path: file, reason: error.detail)
        }
        try load(tensors, into: model, file: file)
        return model
    }

    /// Fills `model`'s parameters from `tensors` (a state dict; `file` names it in errors).
    public static func load(_ tensors: [String: Tensor], into model: EncoderDecoder, file: String) throws(ModelDirectoryError) {
        let parameters = model.parameters(prefix: "")
        for (name, parameter) in parameters {
            guard let tensor = tensors[name] else {
                throw .invalidWeights(path: file, reason: "missing tensor '\(name)' (\(parameter.shape))")
            }
            guard tensor.shape == parameter.shape else {
                throw .invalidWeights(path: file, reason: "tensor '\(name)' has shape \(tensor.shape), expected \(parameter.shape)")
            }
            parameter.value = tensor
        }
        let embedding = model.embed_tokens.weight.value
        for alias in embeddingAliases {
            if let tensor = tensors[alias], tensor != embedding { throw .aliasMismatch(path: file, name: alias) }
        }
        let known = Set(parameters.map(\.name)).union(embeddingAliases).union(ignoredOfficialKeys)
        if let extra = tensors.keys.sorted().first(where: { !known.contains($0) }) {
            throw .unexpectedTensor(path: file, name: extra)
        }
    }

    /// Writes `config.json` and `model.safetensors` (the shared embedding once, no aliases, weights
    /// stored as `storage`) into `path`, creating the folder; each file is replaced atomically.
    public static func save(
        _ model: EncoderDecoder, to path: String, storage: SafeTensors.StorageType = .float32
    ) throws(ModelDirectoryError) {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw .unwritable(path: path, reason: "cannot create the model directory: \(describe(error))")
        }
        let configFile = (path as NSString).appendingPathComponent(configurationFile)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]  // the same model gives the same bytes
            var data = try encoder.encode(model.configuration)
            data.append(0x0A)
            try data.write(to: URL(fileURLWithPath: configFile), options: .atomic)
        } catch {
            throw .unwritable(path: configFile, reason: describe(error))
        }
        let weights = (path as NSString).appendingPathComponent(weightsFile)
        do { try SafeTensors.write(model.stateDictionary(), metadata: ["format": "pt"], storage: storage, to: weights) } catch {
            throw .unwritable(path: weights, reason: error.description)
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing key '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "bad value for '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context): "not valid JSON: \(context.debugDescription)"
        default: "\(error)"
        }
    }
}

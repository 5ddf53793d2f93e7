/// Recoverable errors of the Seq2Seq module (bad files and checkpoints; programmer errors are preconditions).
public enum Seq2SeqError: Error, CustomStringConvertible, Equatable {
    /// A file could not be read or written.
    case io(path: String, reason: String)
    /// A checkpoint file is malformed.
    case corruptCheckpoint(path: String, reason: String)
    /// A tensor a model needs is absent.
    case missingTensor(name: String)
    /// A tensor has another shape than the model expects.
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// A tensor is stored with a dtype this code does not read (only F32, F16, BF16 and I64 are supported).
    case unsupportedType(name: String, dtype: String)

    /// The description without the file's path, for messages that name the file themselves.
    public var detail: String {
        switch self {
        case .io(_, let reason): reason
        case .corruptCheckpoint(_, let reason): "not a valid safetensors file: \(reason)"
        default: description
        }
    }

    public var description: String {
        switch self {
        case .io(let path, let reason): "\(path): \(reason)"
        case .corruptCheckpoint(let path, let reason): "\(path): not a valid safetensors file: \(reason)"
        case .missingTensor(let name): "checkpoint has no tensor '\(name)'"
        case .shapeMismatch(let name, let expected, let found): "tensor '\(name)' has shape \(found), expected \(expected)"
        case .unsupportedType(let name, let dtype): "tensor '\(name)' has dtype \(dtype); only F32, F16, BF16 and I64 are supported"
        }
    }
}

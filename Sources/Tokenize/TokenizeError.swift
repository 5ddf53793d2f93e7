/// Everything that can go wrong in the Tokenize module.
///
/// Each case carries the file (and line, where there is one) it is about, and `description` renders
/// it as
/// one line, e.g. `train.en:17: invalid UTF-8`, so a command can print it as is.
public enum TokenizeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No file at `path`.
    case fileNotFound(path: String)
    /// A file exists but could not be read, written or renamed; `reason` is the system's message.
    case io(path: String, reason: String)
    /// `path` is not a SentencePiece model; `reason` is SentencePiece's message.
    case invalidModel(path: String, reason: String)
    /// Line `line` (1-based) of `file` is not valid UTF-8; `byteOffset` is where in the line it
    /// breaks.
    case invalidUTF8(file: String, line: Int, byteOffset: Int)
    /// None of the training files has a line with visible text.
    case emptyCorpus(files: [String])
    /// A training or encoding option is out of range; `reason` says which values are allowed.
    case invalidOption(name: String, reason: String)
    /// SentencePiece's trainer refused; `message` is its own message (e.g. "Vocabulary size too
    /// high").
    case trainingFailed(message: String)
    /// Encoding or decoding failed in SentencePiece, for `source` (a model path) and `message`.
    case segmentationFailed(source: String, message: String)
    /// A loaded model does not match what a configuration expects (vocabulary size or special ids).
    case modelMismatch(path: String, reason: String)
    /// ICU could not split sentences for `locale`; `reason` is ICU's error name.
    case sentenceBreakFailed(locale: String, reason: String)

    /// One line naming the file (and line) and what is wrong.
    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .invalidModel(let path, let reason):
            return "\(path): not a valid SentencePiece model (\(reason))"
        case .invalidUTF8(let file, let line, let byteOffset):
            return "\(file):\(line): invalid UTF-8 at byte \(byteOffset) of the line"
        case .emptyCorpus(let files):
            return "\(files.joined(separator: ", ")): empty training corpus (no line with text)"
        case .invalidOption(let name, let reason):
            return "\(name): \(reason)"
        case .trainingFailed(let message):
            return "SentencePiece training failed: \(message)"
        case .segmentationFailed(let source, let message):
            return "\(source): \(message)"
        case .modelMismatch(let path, let reason):
            return "\(path): model does not match the configuration: \(reason)"
        case .sentenceBreakFailed(let locale, let reason):
            return "sentence splitting for locale \(locale) failed: \(reason)"
        }
    }
}

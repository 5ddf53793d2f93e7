// A model directory as the commands that run a model use it: the network and its SentencePiece model,
// loaded and checked together.
import CLI
import Foundation
import Seq2Seq
import Tokenize

/// The model of a model directory, its errors as one runtime error line.
func loadModelDirectory(_ directory: String) throws -> EncoderDecoder {
    do { return try ModelDirectory.load(directory) } catch { throw RuntimeError(error.description) }
}

/// A model directory's network (`config.json` + `model.safetensors`) and its `spm.model`, checked to
/// agree on the vocabulary size and the special ids.
struct ModelBundle {
    let directory: String
    let model: EncoderDecoder
    let sentencePiece: SentencePieceModel

    var configuration: ModelConfiguration { model.configuration }

    /// Loads both parts of `directory`.
    /// - Throws: `RuntimeError` naming the file at fault: a missing folder or file, an invalid
    ///   configuration or weights, or an spm.model that does not match config.json.
    init(directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw RuntimeError("\(directory): no such model directory")
        }
        guard isDirectory.boolValue else { throw RuntimeError("\(directory): is a file, not a model directory") }
        self.directory = directory
        model = try loadModelDirectory(directory)
        sentencePiece = try loadSentencePiece(directory, configuration: model.configuration)
    }
}

/// The directory's `spm.model`, checked against the model's vocabulary size and special ids.
///
/// - Parameter missingHint: appended to the error when the file is absent (what to do instead).
func loadSentencePiece(_ directory: String, configuration c: ModelConfiguration, missingHint: String? = nil) throws
    -> SentencePieceModel
{
    let path = (directory as NSString).appendingPathComponent(ModelDirectory.sentencePieceFile)
    guard FileManager.default.fileExists(atPath: path) else {
        throw RuntimeError("\(path): no such file" + (missingHint.map { " (\($0))" } ?? ""))
    }
    let pieces: SentencePieceModel
    do { pieces = try SentencePieceModel(contentsOf: path) } catch { throw RuntimeError(error.description) }
    guard pieces.vocabularySize == c.vocabularySize else {
        throw RuntimeError(
            "\(path) has \(pieces.vocabularySize) pieces but the model's vocab_size is \(c.vocabularySize)")
    }
    do {
        try pieces.verify(
            vocabularySize: c.vocabularySize,
            specialIds: SpecialIds(pad: c.padId, unk: c.unknownId, bos: c.bosId, eos: c.eosId))
    } catch { throw RuntimeError(error.description) }
    return pieces
}

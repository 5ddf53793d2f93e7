// `translate score`: the model's log-probability of given translations (fairseq `--score-reference`,
// Marian's `marian-scorer`), for filtering corpora and reranking n-best lists.
import CLI
import Foundation
import Seq2Seq
import Tokenize

let scoreCommand = Command(
    name: "score",
    abstract: "Score target sentences given their sources: total log-probability and token count per pair.",
    discussion: """
        Writes one line per sentence pair: the natural-log probability of the target under the model \
        (its EOS included), a tab, and the number of tokens scored (pieces plus EOS). Divide the two for a \
        per-token score. With --input-format id, both files hold space-separated piece ids without EOS \
        (as 'spm_encode --output_format id' writes them) and the model directory needs no spm.model.
        """,
    options: [
        .value("--model", valueName: "DIR", help: "Model directory (config.json, model.safetensors, spm.model)."),
        .value("--source", "-s", valueName: "FILE", help: "Source sentences, one per line."),
        .value("--target", "-t", valueName: "FILE", help: "Target sentences, one per line, aligned with the sources."),
        .value("--input-format", valueName: "FORMAT", default: "text", help: "text or id."),
        .value("--max-tokens", valueName: "N", default: "4096", help: "Padded tokens per batch."),
    ]
) { arguments in
    let directory = try arguments.required("--model")
    let sourcePath = try arguments.required("--source")
    let targetPath = try arguments.required("--target")
    let format = try arguments.choice("--input-format", default: "text", from: ["text", "id"])
    let maxTokens = try arguments.int("--max-tokens", default: 4096, min: 1)
    let model = try loadModelDirectory(directory)
    let sourceLines = try TextFile.readLines(atPath: sourcePath)
    let targetLines = try TextFile.readLines(atPath: targetPath)
    guard sourceLines.count == targetLines.count else {
        throw RuntimeError(
            "\(sourcePath) has \(sourceLines.count) lines but \(targetPath) has \(targetLines.count); they must be aligned")
    }
    let sources: [[Int]]
    let targets: [[Int]]
    if format == "id" {
        sources = try parseIds(sourceLines, file: sourcePath, configuration: model.configuration)
        targets = try parseIds(targetLines, file: targetPath, configuration: model.configuration)
    } else {
        let pieces = try loadSentencePiece(
            directory, configuration: model.configuration,
            missingHint: "use --input-format id to score piece ids without it")
        do {
            sources = try pieces.encode(TextBatch(sourceLines)).sequences
            targets = try pieces.encode(TextBatch(targetLines)).sequences
        } catch {
            throw RuntimeError(String(describing: error))
        }
    }
    try checkLengths(sources, file: sourcePath, configuration: model.configuration)
    try checkLengths(targets, file: targetPath, configuration: model.configuration)
    var output = ""
    for score in model.score(sources: sources, targets: targets, maxTokens: maxTokens) {
        output += String(format: "%.6f", score.logProbability) + "\t\(score.tokenCount)\n"
    }
    writeStandardOutput(output)
}

/// Space-separated ids per line, each inside the vocabulary and not a special id.
private func parseIds(_ lines: [String], file: String, configuration c: ModelConfiguration) throws -> [[Int]] {
    try lines.enumerated().map { index, line in
        try line.split(separator: " ").map { field in
            guard let id = Int(field), id >= 0, id < c.vocabularySize else {
                throw RuntimeError("\(file):\(index + 1): '\(field)' is not an id in 0..<\(c.vocabularySize)")
            }
            if id == c.padId || id == c.eosId || id == c.bosId {
                throw RuntimeError("\(file):\(index + 1): id \(id) is a special id (pad, bos or eos); give pieces only")
            }
            return id
        }
    }
}

/// Every sentence plus its EOS must fit the model's positions.
private func checkLengths(_ sentences: [[Int]], file: String, configuration c: ModelConfiguration) throws {
    if let index = sentences.firstIndex(where: { $0.count + 1 > c.maxPositions }) {
        throw RuntimeError(
            "\(file):\(index + 1): \(sentences[index].count) pieces, more than the model's max_positions \(c.maxPositions) minus EOS")
    }
}

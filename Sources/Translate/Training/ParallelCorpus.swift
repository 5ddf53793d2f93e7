import CLI
import Tokenize

/// Line-aligned parallel text: line i of the source translates line i of the target.
struct ParallelCorpus {
    var source: [String]
    var target: [String]
    /// How messages name the corpus: `train.en + train.de`.
    var name: String

    var count: Int { source.count }

    /// Reads both files, checking each is readable UTF-8 and that they have the same, non-zero,
    /// number of lines.
    ///
    /// - Throws: `RuntimeError` naming the file (and line, for invalid UTF-8), or both files and both
    ///   counts when they differ.
    static func load(source sourcePath: String, target targetPath: String) throws -> ParallelCorpus {
        let source = try TextFile.readLines(atPath: sourcePath)
        let target = try TextFile.readLines(atPath: targetPath)
        if source.isEmpty { throw RuntimeError("\(sourcePath): empty file") }
        if target.isEmpty { throw RuntimeError("\(targetPath): empty file") }
        guard source.count == target.count else {
            throw RuntimeError(
                "\(sourcePath) has \(source.count) lines but \(targetPath) has \(target.count); "
                    + "parallel files must have one line per sentence pair")
        }
        return ParallelCorpus(source: source, target: target, name: "\(sourcePath) + \(targetPath)")
    }

    /// Concatenates corpora (several `--train` pairs).
    static func joined(_ parts: [ParallelCorpus]) -> ParallelCorpus {
        ParallelCorpus(
            source: parts.flatMap(\.source), target: parts.flatMap(\.target),
            name: parts.map(\.name).joined(separator: ", "))
    }
}

/// A corpus as token ids (without EOS), with the pairs that cannot be trained on left out.
struct EncodedCorpus {
    var source: [[Int]]
    var target: [[Int]]
    /// Indices into the original corpus of the pairs kept.
    var kept: [Int]
    /// Pairs left out because one side had no tokens.
    var emptyPairs: Int
    /// Pairs left out because one side had more than the maximum length.
    var longPairs: Int

    var count: Int { source.count }

    /// Encodes both sides and leaves out empty and overlong pairs (as fairseq's
    /// `--skip-invalid-size-inputs-valid-test` does), counting each kind.
    ///
    /// - Parameter maxLength: most tokens allowed on either side, EOS not counted.
    static func encode(_ corpus: ParallelCorpus, with model: SentencePieceModel, maxLength: Int) throws
        -> EncodedCorpus
    {
        let source = try model.encode(TextBatch(corpus.source)).sequences
        let target = try model.encode(TextBatch(corpus.target)).sequences
        var encoded = EncodedCorpus(source: [], target: [], kept: [], emptyPairs: 0, longPairs: 0)
        for index in source.indices {
            if source[index].isEmpty || target[index].isEmpty {
                encoded.emptyPairs += 1
            } else if source[index].count > maxLength || target[index].count > maxLength {
                encoded.longPairs += 1
            } else {
                encoded.source.append(source[index])
                encoded.target.append(target[index])
                encoded.kept.append(index)
            }
        }
        return encoded
    }

    /// One warning line about what was left out, or nil when every pair was kept.
    func skippedWarning(corpusName: String, maxLength: Int) -> String? {
        let skipped = emptyPairs + longPairs
        guard skipped > 0 else { return nil }
        return "warning: \(corpusName): skipped \(skipped) of \(skipped + count) pairs "
            + "(\(emptyPairs) with an empty side, \(longPairs) longer than \(maxLength) tokens)"
    }
}

// Text in, text out: SentencePiece encoding, the model's length limit, optional sentence splitting,
// then ``Translator`` on the ids and SentencePiece decoding of the results.
import CLI
import Foundation
import Seq2Seq
import Tokenize

/// One output hypothesis of an input line.
struct TranslatedText: Equatable {
    /// Detokenized text, or the pieces separated by spaces with `--output-pieces`.
    var text: String
    /// Output pieces, EOS not counted (summed over the sentences of a split line).
    var tokenCount: Int
    /// Natural-log probability of the output, its EOS included.
    var logProbability: Double
    /// The ranking score: `logProbability / (tokenCount + EOS count)^lenpen`.
    var score: Double
}

/// What one input line gave: its hypotheses best first (none for an empty line), or nothing at all
/// for a line that was not valid UTF-8.
struct LineTranslation: Equatable {
    /// 1-based line number in the input.
    var lineNumber: Int
    var hypotheses: [TranslatedText]
    var isInvalid = false
}

/// What a line of input is, before translation.
enum InputLine {
    case text(String)
    /// The bytes were not valid UTF-8.
    case invalid
}

/// Translates lines of text with a model bundle: encode, check lengths, translate, decode.
struct TextTranslator {
    let bundle: ModelBundle
    let translator: Translator
    let lengthPenalty: Double
    /// Split each line into sentences with ICU before translating (nil: translate lines whole).
    let splitter: SentenceSplitter?
    /// Refuse over-long sources instead of truncating them.
    let strict: Bool
    /// Pieces separated by spaces instead of detokenized text.
    let outputPieces: Bool

    /// Longest source the model takes, in pieces without EOS.
    var maxSourcePieces: Int { bundle.configuration.maxPositions - 1 }

    /// Translates `lines` (numbered from `firstLineNumber`), in order.
    ///
    /// - Parameters:
    ///   - warn: receives one line per truncated source, naming its input line.
    ///   - batchDone: called after each batch the model translates with its number of segments (sentences
    ///     when splitting, else non-empty lines).
    /// - Throws: `RuntimeError` for an over-long line under `strict`, or a SentencePiece failure.
    func translate(
        _ lines: [InputLine], firstLineNumber: Int, warn: (String) -> Void, batchDone: (Int) -> Void = { _ in }
    ) throws -> [LineTranslation] {
        // Every line becomes one or more segments (sentences) to translate; `sentencesOfLine` keeps how
        // to put them back together.
        var segmentTexts: [String] = []
        var segmentLine: [Int] = []
        var sentencesOfLine: [[Sentence]?] = []
        for (offset, line) in lines.enumerated() {
            guard case .text(let text) = line else {
                sentencesOfLine.append(nil)
                continue
            }
            if let splitter {
                let sentences: [Sentence]
                do { sentences = try splitter.split(text) } catch { throw RuntimeError(error.description) }
                sentencesOfLine.append(sentences)
                for sentence in sentences {
                    segmentTexts.append(sentence.text)
                    segmentLine.append(offset)
                }
            } else {
                sentencesOfLine.append(nil)
                segmentTexts.append(text)
                segmentLine.append(offset)
            }
        }
        var sources: [[Int]]
        do { sources = try bundle.sentencePiece.encode(TextBatch(segmentTexts)).sequences } catch {
            throw RuntimeError(error.description)
        }
        for (segment, ids) in sources.enumerated() where ids.count > maxSourcePieces {
            let lineNumber = firstLineNumber + segmentLine[segment]
            let what = splitter == nil ? "line \(lineNumber)" : "line \(lineNumber) (a sentence of it)"
            let limit = "the model's max_positions \(bundle.configuration.maxPositions) minus EOS"
            if strict {
                throw RuntimeError("\(what): \(ids.count) pieces, more than \(limit) (--strict)")
            }
            warn("warning: \(what): \(ids.count) pieces, truncated to \(maxSourcePieces), \(limit)\n")
            sources[segment] = Array(ids.prefix(maxSourcePieces))
        }
        // Only segments with pieces go to the model; an empty or blank one translates to nothing.
        let nonEmpty = sources.indices.filter { !sources[$0].isEmpty }
        let found = translator.translate(nonEmpty.map { sources[$0] }, batchDone: batchDone)
        var hypothesesOfSegment = [[Hypothesis]](repeating: [], count: sources.count)
        for (segment, hypotheses) in zip(nonEmpty, found) { hypothesesOfSegment[segment] = hypotheses }
        let texts = try render(hypothesesOfSegment.flatMap { $0.map(\.tokens) })
        var nextText = texts.makeIterator()
        let renderedOfSegment = hypothesesOfSegment.map { hypotheses in
            hypotheses.map { hypothesis in
                TranslatedText(
                    text: nextText.next()!, tokenCount: hypothesis.tokens.count,
                    logProbability: Double(hypothesis.logProbability), score: hypothesis.score)
            }
        }

        var results: [LineTranslation] = []
        var segment = 0
        for (offset, line) in lines.enumerated() {
            let lineNumber = firstLineNumber + offset
            guard case .text = line else {
                results.append(LineTranslation(lineNumber: lineNumber, hypotheses: [], isInvalid: true))
                continue
            }
            guard let sentences = sentencesOfLine[offset] else {
                results.append(LineTranslation(lineNumber: lineNumber, hypotheses: renderedOfSegment[segment]))
                segment += 1
                continue
            }
            let parts = renderedOfSegment[segment..<segment + sentences.count].map { $0.first }
            segment += sentences.count
            results.append(LineTranslation(lineNumber: lineNumber, hypotheses: sentences.isEmpty ? [] : [joined(parts, sentences)]))
        }
        return results
    }

    /// The sentences of a split line as one hypothesis: texts rejoined with the original separators,
    /// log-probabilities and lengths summed, scored as one output with one EOS per sentence.
    private func joined(_ parts: [TranslatedText?], _ sentences: [Sentence]) -> TranslatedText {
        let text = SentenceSplitter.rejoin(sentences, replacingTextsWith: parts.map { $0?.text ?? "" })
        let translated = parts.compactMap { $0 }
        let tokenCount = translated.reduce(0) { $0 + $1.tokenCount }
        let logProbability = translated.reduce(0) { $0 + $1.logProbability }
        let length = Double(tokenCount + translated.count)
        let score = translated.isEmpty ? 0 : logProbability / pow(length, lengthPenalty)
        return TranslatedText(text: text, tokenCount: tokenCount, logProbability: logProbability, score: score)
    }

    /// Output ids as text: detokenized, or pieces separated by spaces.
    private func render(_ outputs: [[Int]]) throws -> [String] {
        if outputPieces {
            return outputs.map { ids in ids.map { bundle.sentencePiece.piece(for: $0) ?? "" }.joined(separator: " ") }
        }
        do { return try bundle.sentencePiece.decode(outputs) } catch { throw RuntimeError(error.description) }
    }
}

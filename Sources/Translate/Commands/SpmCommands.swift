// `translate spm-train`, `spm-encode`, `spm-decode`: SentencePiece from the command line, with
// output
// byte-identical to Debian's `spm_encode` / `spm_decode` on the same model and input.
import CLI
import Foundation
import Tokenize

// MARK: - spm-train

let spmTrainCommand = Command(
    name: "spm-train",
    abstract: "Train a joint SentencePiece model on source and target text.",
    discussion: """
        Writes PREFIX.model and PREFIX.vocab, readable by every SentencePiece tool. Both are written under a \
        temporary name and renamed only when training succeeds, so a failed run leaves no model behind.
        Special ids are pad 0, unk 1, bos 2, eos 3 (the toolkit's convention).
        """,
    options: [
        .value(
            "--input", valueName: "FILE[,FILE...]",
            help:
                "Training text, one sentence per line; comma-separated files share one vocabulary."),
        .value("--model-prefix", valueName: "PREFIX", help: "Output path without extension."),
        .value(
            "--vocab-size", valueName: "N", default: "8000",
            help: "Vocabulary size, special pieces included."),
        .value("--model-type", valueName: "TYPE", default: "unigram", help: "unigram or bpe."),
        .value(
            "--character-coverage", valueName: "X", default: "1.0",
            help: "Share of characters covered; the rest map to unk."),
        .value(
            "--input-sentence-size", valueName: "N", default: "0",
            help: "Sample this many sentences for training; 0 uses all."),
        .value(
            "--user-defined-symbols", valueName: "A,B",
            help: "Pieces always kept whole, comma-separated."),
        .value(
            "--control-symbols", valueName: "A,B",
            help: "Pieces inserted only by id, comma-separated."),
        .flag(
            "--byte-fallback", help: "Spell unknown characters as UTF-8 byte pieces instead of unk."
        ),
        .value("--seed", valueName: "N", help: "Seed for sentence sampling."),
        .value(
            "--threads", valueName: "N", default: "0",
            help: "Trainer threads; 0 means one per core."),
        .flag("--verbose", help: "Print SentencePiece's training log to stderr."),
    ]
) { arguments in
    let inputs = try arguments.required("--input").split(
        separator: ",", omittingEmptySubsequences: false
    )
    .map(String.init)
    if inputs.contains(where: \.isEmpty) {
        throw UsageError(
            "--input must be comma-separated file names, got '\(arguments.string("--input")!)'")
    }
    let prefix = try arguments.required("--model-prefix")
    var options = TrainingOptions()
    options.vocabularySize = try arguments.int("--vocab-size", default: 8000, min: 1)
    let type = try arguments.choice("--model-type", default: "unigram", from: ["unigram", "bpe"])
    options.modelType = TrainingOptions.ModelType(rawValue: type)!
    options.characterCoverage = try arguments.double(
        "--character-coverage", default: 1.0, min: 0, max: 1)
    if options.characterCoverage == 0 {
        throw UsageError("--character-coverage must be a number above 0 and at most 1, got '0'")
    }
    options.inputSentenceSize = try arguments.int("--input-sentence-size", default: 0, min: 0)
    options.userDefinedSymbols = symbolList(arguments.string("--user-defined-symbols"))
    options.controlSymbols = symbolList(arguments.string("--control-symbols"))
    options.byteFallback = arguments.has("--byte-fallback")
    if arguments.has("--seed") {
        options.seed = UInt32(try arguments.int("--seed", default: 0, min: 0, max: Int(UInt32.max)))
    }
    options.threads = try arguments.int("--threads", default: 0, min: 0, max: 1024)
    options.verbose = arguments.has("--verbose")

    let start = Date()
    let model: SentencePieceModel
    do {
        model = try SentencePieceModel.train(inputs: inputs, modelPrefix: prefix, options: options)
    } catch {
        throw RuntimeError(String(describing: error))
    }
    writeStandardError(
        "spm-train: wrote \(prefix).model and \(prefix).vocab (\(options.modelType.rawValue), "
            + "\(model.vocabularySize) pieces, \(model.specialIds)) in "
            + String(format: "%.1f", Date().timeIntervalSince(start)) + " s\n")
}

private func symbolList(_ text: String?) -> [String] {
    guard let text, !text.isEmpty else { return [] }
    return text.split(separator: ",").map(String.init)
}

// MARK: - spm-encode

let spmEncodeCommand = Command(
    name: "spm-encode",
    abstract: "Segment text into SentencePiece pieces or ids (as spm_encode does).",
    discussion: """
        Reads the FILEs, or stdin when none is given, and writes one line of space-separated pieces or ids \
        per input line, byte for byte what Debian's spm_encode writes for the same model and input. Input \
        must be UTF-8; an invalid line stops the run with an error naming the file and line.
        """,
    options: [
        .value("--model", valueName: "MODEL", help: "SentencePiece model file."),
        .value("--output-format", valueName: "FORMAT", default: "piece", help: "piece or id."),
        .value(
            "--threads", valueName: "N", default: "1",
            help: "Encoding threads; 0 means one per core. Output does not depend on it."),
    ],
    positionals: "[FILE ...]", count: 0...Int.max
) { arguments in
    // TRANSLATE_SPM_WORD_CACHE=0 turns the word memo off (for benchmarks; output is the same).
    let memo = ProcessInfo.processInfo.environment["TRANSLATE_SPM_WORD_CACHE"] != "0"
    let model = try loadModel(try arguments.required("--model"), memoizingWords: memo)
    let format = try arguments.choice("--output-format", default: "piece", from: ["piece", "id"])
    let threads = try arguments.int("--threads", default: 1, min: 0, max: 1024)
    let timing = ProcessInfo.processInfo.environment["TRANSLATE_SPM_TIMING"] == "1"
    var encodeSeconds = 0.0
    var encodeCPUSeconds = 0.0
    var lines = 0
    var pieces = 0
    let output = OutputBuffer()
    try forEachInput(arguments.positionals) { batch in
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = clock()
        defer { encodeCPUSeconds += Double(clock() - cpuStart) / Double(CLOCKS_PER_SEC) }
        do {
            if format == "id" {
                let encoded = try model.encode(batch, threads: threads)
                encodeSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                output.appendIds(encoded)
                pieces += encoded.ids.count
            } else {
                let encoded = try model.encodeAsPieces(batch, threads: threads)
                encodeSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                output.appendPieces(encoded)
                pieces += encoded.pieceOffsets.count - 1
            }
        } catch {
            throw RuntimeError(String(describing: error))
        }
        lines += batch.count
        try output.flush()
    }
    if timing {
        writeStandardError(
            "spm-encode: \(lines) lines, \(pieces) pieces, encoding "
                + String(format: "%.3f", encodeSeconds) + " s, CPU "
                + String(format: "%.3f", encodeCPUSeconds)
                + " s (excluding reading and writing), word memo "
                + (model.memoizesWords ? "on" : "off") + "\n")
    }
}

// MARK: - spm-decode

let spmDecodeCommand = Command(
    name: "spm-decode",
    abstract: "Turn SentencePiece pieces or ids back into text (as spm_decode does).",
    discussion: """
        Reads the FILEs, or stdin when none is given: one line of space-separated pieces or ids per sentence. \
        Writes the text, byte for byte what Debian's spm_decode writes for the same model and input. Ids are \
        read as C's atoi does (so an empty field is 0); an id outside the vocabulary is an error naming the \
        file and line.
        """,
    options: [
        .value("--model", valueName: "MODEL", help: "SentencePiece model file."),
        .value("--input-format", valueName: "FORMAT", default: "piece", help: "piece or id."),
    ],
    positionals: "[FILE ...]", count: 0...Int.max
) { arguments in
    let model = try loadModel(try arguments.required("--model"))
    let format = try arguments.choice("--input-format", default: "piece", from: ["piece", "id"])
    let vocabularySize = model.vocabularySize
    let output = OutputBuffer()
    try forEachInput(arguments.positionals) { batch, source, firstLine in
        do {
            let texts: [String]
            if format == "id" {
                var ids: [Int32] = []
                var offsets = [0]
                for i in 0..<batch.count {
                    for field in fields(of: batch, line: i) {
                        let id = atoi(field)
                        if id < 0 || Int(id) >= vocabularySize {
                            throw RuntimeError(
                                "\(source):\(firstLine + i): id \(id) is outside the vocabulary 0..<\(vocabularySize)"
                            )
                        }
                        ids.append(id)
                    }
                    offsets.append(ids.count)
                }
                texts = try model.decode(EncodedBatch(ids: ids, offsets: offsets))
            } else {
                var bytes: [UInt8] = []
                var pieceOffsets = [0]
                var lineOffsets = [0]
                for i in 0..<batch.count {
                    for field in fields(of: batch, line: i) {
                        bytes.append(contentsOf: field)
                        pieceOffsets.append(bytes.count)
                    }
                    lineOffsets.append(pieceOffsets.count - 1)
                }
                texts = try model.decode(
                    PieceBatch(bytes: bytes, pieceOffsets: pieceOffsets, lineOffsets: lineOffsets))
            }
            for text in texts {
                output.append(text)
                output.append(0x0A)
            }
        } catch let error as TokenizeError {
            throw RuntimeError(String(describing: error))
        }
        try output.flush()
    }
}

/// The space-separated fields of one line, empty ones included (as `absl::StrSplit(line, " ")`).
private func fields(of batch: TextBatch, line: Int) -> [ArraySlice<UInt8>] {
    batch.bytes[batch.offsets[line]..<batch.offsets[line + 1]]
        .split(separator: 0x20, omittingEmptySubsequences: false)
}

/// C's `atoi` on a field: leading whitespace, an optional sign, then digits up to the first
/// non-digit;
/// 0 when there are none. Out-of-range values saturate.
private func atoi(_ field: ArraySlice<UInt8>) -> Int32 {
    var i = field.startIndex
    while i < field.endIndex, [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains(field[i]) { i += 1 }
    var negative = false
    if i < field.endIndex, field[i] == 0x2B || field[i] == 0x2D {
        negative = field[i] == 0x2D
        i += 1
    }
    var value: Int64 = 0
    while i < field.endIndex, (0x30...0x39).contains(field[i]) {
        value = min(value * 10 + Int64(field[i] - 0x30), Int64(Int32.max) + 1)
        i += 1
    }
    return Int32(clamping: negative ? -value : value)
}

// MARK: - Shared plumbing

private func loadModel(_ path: String, memoizingWords: Bool = true) throws -> SentencePieceModel {
    do {
        return try SentencePieceModel(contentsOf: path, memoizingWords: memoizingWords)
    } catch {
        throw RuntimeError(String(describing: error))
    }
}

/// Calls `body` with batches of complete, UTF-8-validated lines from each input (stdin when `paths`
/// is
/// empty or for "-"), as soon as they are read, so a pipe is answered without waiting for its end.
private func forEachInput(_ paths: [String], _ body: (TextBatch) throws -> Void) throws {
    try forEachInput(paths) { batch, _, _ in try body(batch) }
}

private func forEachInput(
    _ paths: [String], _ body: (TextBatch, _ source: String, _ firstLine: Int) throws -> Void
) throws {
    for path in paths.isEmpty ? ["-"] : paths {
        let source = path == "-" ? "<stdin>" : path
        let descriptor: Int32
        if path == "-" {
            descriptor = 0
        } else {
            descriptor = open(path, O_RDONLY)
            if descriptor < 0 {
                let reason = errno == ENOENT ? "no such file" : String(cString: strerror(errno))
                throw RuntimeError("\(path): \(reason)")
            }
        }
        defer { if descriptor != 0 { close(descriptor) } }
        var pending: [UInt8] = []
        var nextLine = 1
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw RuntimeError("\(source): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            pending.append(contentsOf: chunk[0..<count])
            guard let lastNewline = pending.lastIndex(of: 0x0A) else { continue }
            let batch: TextBatch
            do {
                batch = try TextBatch(
                    splitting: pending[...lastNewline], source: source, firstLine: nextLine)
            } catch {
                throw RuntimeError(String(describing: error))
            }
            try body(batch, source, nextLine)
            nextLine += batch.count
            pending.removeFirst(lastNewline + 1)
        }
        if !pending.isEmpty {
            let batch: TextBatch
            do {
                batch = try TextBatch(splitting: pending, source: source, firstLine: nextLine)
            } catch {
                throw RuntimeError(String(describing: error))
            }
            try body(batch, source, nextLine)
        }
    }
}

/// Bytes bound for stdout, written with `write(2)` when flushed.
private final class OutputBuffer {
    private var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1 << 20) }

    func append(_ byte: UInt8) { bytes.append(byte) }

    func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// Ids as `spm_encode --output_format id` prints them: decimal, space-separated, one line each.
    func appendIds(_ batch: EncodedBatch) {
        // Work on a local array: appending to the stored property would pay a dynamic exclusivity
        // check per byte.
        var bytes: [UInt8] = []
        swap(&bytes, &self.bytes)
        defer { swap(&bytes, &self.bytes) }
        var digits = [UInt8](repeating: 0, count: 12)
        for line in 0..<batch.count {
            var first = true
            for id in batch[line] {
                if !first { bytes.append(0x20) }
                first = false
                var value = Int(id)
                if value < 0 {
                    bytes.append(0x2D)
                    value = -value
                }
                var n = 0
                repeat {
                    digits[n] = UInt8(0x30 + value % 10)
                    value /= 10
                    n += 1
                } while value > 0
                while n > 0 {
                    n -= 1
                    bytes.append(digits[n])
                }
            }
            bytes.append(0x0A)
        }
    }

    /// Pieces as `spm_encode` prints them: space-separated, one line each.
    func appendPieces(_ batch: PieceBatch) {
        var bytes: [UInt8] = []
        swap(&bytes, &self.bytes)
        defer { swap(&bytes, &self.bytes) }
        for line in 0..<batch.count {
            for piece in batch.lineOffsets[line]..<batch.lineOffsets[line + 1] {
                if piece > batch.lineOffsets[line] { bytes.append(0x20) }
                bytes.append(contentsOf: batch.pieceBytes(piece))
            }
            bytes.append(0x0A)
        }
    }

    func flush() throws {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes {
                write(1, $0.baseAddress! + written, $0.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw RuntimeError("<stdout>: \(String(cString: strerror(errno)))")
            }
            written += n
        }
        bytes.removeAll(keepingCapacity: true)
    }
}

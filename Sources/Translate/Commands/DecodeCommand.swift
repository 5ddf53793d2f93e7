// `translate decode` (also what `translate` runs with no command): beam search over a model directory,
// text in and text out, a file or a stream. Flags after fairseq-generate/interactive, Marian and CTranslate2.
import CLI
import Foundation
import Seq2Seq
import Tokenize

let decodeCommand = Command(
    name: "decode",
    abstract: "Translate text with beam search: a file, or stdin line by line (each answer flushed at once).",
    discussion: """
        Reads -i FILE, or stdin when no -i is given, and writes one result per input line in input order \
        (sentences are sorted by length into batches internally). Reading a pipe, each line is answered as soon \
        as it is translated; lines already waiting are translated together. An empty line gives an empty line; a \
        line of invalid UTF-8 gives an empty line and a warning naming it. A source longer than the model's \
        max_positions is truncated with a warning (refused with --strict). With -o FILE the output is written \
        when all input is translated, atomically.
        Scores are natural logs: F0 is the log-probability of the output (EOS included); score is \
        F0 / (output pieces + 1)^lenpen. With --split-sentences a line is split into sentences by ICU, each \
        sentence translated, and the translations rejoined with the original spacing.
        With no --model, the model shipped in the package's data/model is used.
        """,
    options: [
        .value("--model", "-m", valueName: "DIR", help: "Model directory (config.json, model.safetensors, spm.model)."),
        .value("--input", "-i", valueName: "FILE", help: "Input text, one sentence (or paragraph) per line; default stdin."),
        .value("--output", "-o", valueName: "FILE", help: "Write here (atomically, at the end) instead of stdout."),
        .value("--beam", "-b", valueName: "N", default: "5", help: "Beam size; 1 is greedy search."),
        .value("--lenpen", valueName: "X", default: "1", help: "Length penalty: hypotheses rank by logprob / length^X."),
        .value("--nbest", "-n", valueName: "N", default: "1", help: "Hypotheses per input (at most --beam); more than 1 prints n-best lines."),
        .value("--max-len-a", valueName: "A", default: "1.2", help: "Outputs have at most A·(source length)+B tokens."),
        .value("--max-len-b", valueName: "B", default: "10", help: "See --max-len-a."),
        .value("--min-len", valueName: "N", default: "0", help: "No EOS before N output pieces."),
        .value("--no-repeat-ngram-size", valueName: "N", default: "0", help: "Forbid repeating any n-gram of this size (0: off)."),
        .value("--unk-penalty", valueName: "X", default: "0", help: "Subtracted from the unknown piece's log-probability."),
        .value("--batch-size", valueName: "N", default: "32", help: "Most sentences per batch."),
        .value("--max-tokens", valueName: "N", help: "Most source tokens per batch (padded), besides --batch-size."),
        .value("--format", valueName: "FORMAT", default: "plain", help: "plain, nbest (Marian's 'id ||| text ||| F0=logprob ||| score') or jsonl."),
        .flag("--with-score", help: "Plain format with the score first: 'score ||| text'."),
        .flag("--output-pieces", help: "Write SentencePiece pieces separated by spaces instead of text."),
        .flag("--split-sentences", help: "Split each line into sentences (ICU) and translate them one by one."),
        .value("--source-lang", valueName: "LANG", default: "en", help: "Language of the input, for --split-sentences."),
        .flag("--strict", help: "Stop (exit 1) at a source longer than the model takes, instead of truncating it."),
        .value("--threads", valueName: "N", default: "2", help: "Threads for OpenBLAS and the other kernels."),
        .flag("--report-speed", help: "At the end, print sentences/s, target tokens/s and peak memory to stderr."),
    ]
) { arguments in
    var options = DecodingOptions()
    options.beamSize = try arguments.int("--beam", default: 5, min: 1, max: 256)
    options.lengthPenalty = try arguments.double("--lenpen", default: 1)
    options.nBest = try arguments.int("--nbest", default: 1, min: 1, max: options.beamSize)
    options.maxLengthA = try arguments.double("--max-len-a", default: 1.2, min: 0)
    options.maxLengthB = try arguments.double("--max-len-b", default: 10, min: 1)
    options.minLength = try arguments.int("--min-len", default: 0, min: 0)
    options.noRepeatNGramSize = try arguments.int("--no-repeat-ngram-size", default: 0, min: 0)
    options.unknownPenalty = Float(try arguments.double("--unk-penalty", default: 0))
    var limits = BatchLimits()
    limits.sentences = try arguments.int("--batch-size", default: 32, min: 1, max: 100_000)
    if arguments.has("--max-tokens") { limits.tokens = try arguments.int("--max-tokens", default: 0, min: 1) }
    var format = try arguments.choice("--format", default: "plain", from: ["plain", "nbest", "jsonl"])
    if arguments.has("--with-score") {
        guard format == "plain" else { throw UsageError("--with-score goes with the plain format, not --format \(format)") }
        format = "score"
    }
    if options.nBest > 1, format == "plain" || format == "score" { format = "nbest" }
    let split = arguments.has("--split-sentences")
    if split, options.nBest > 1 {
        throw UsageError("--split-sentences gives one translation per line; it does not combine with --nbest \(options.nBest)")
    }
    let threads = try arguments.int("--threads", default: 2, min: 1, max: 256)
    let outputFormat: OutputFormat =
        switch format {
        case "score": .withScore
        case "nbest": .nBest
        case "jsonl": .jsonLines
        default: .plain
        }

    // Inputs and the output's folder before the model, so that a wrong path fails fast.
    let reader: LineReader
    let inputIsRegularFile: Bool
    let inputPath = arguments.string("--input")
    let outputPath = arguments.string("--output")
    if let path = inputPath {
        let descriptor = try openInputFile(path)
        reader = LineReader(fileDescriptor: descriptor)
        inputIsRegularFile = true
    } else {
        reader = LineReader(fileDescriptor: 0)
        var status = stat()
        inputIsRegularFile = fstat(0, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }
    if let outputPath { try AtomicFile.checkWritable(outputPath) }
    let bundle = try ModelBundle(directory: try arguments.string("--model") ?? defaultModelDirectory())
    BLAS.threadCount = threads
    Parallel.threadCount = threads
    let translator = TextTranslator(
        bundle: bundle, translator: Translator(model: bundle.model, options: options, limits: limits),
        lengthPenalty: options.lengthPenalty,
        splitter: split ? SentenceSplitter(locale: arguments.string("--source-lang") ?? "en") : nil,
        strict: arguments.has("--strict"), outputPieces: arguments.has("--output-pieces"))

    // A file being translated shows how far it has got on stderr, unless it takes under 10 s, or the
    // translations themselves go to the terminal (the lines would mix). Streams answer line by line instead.
    let progress =
        inputIsRegularFile && (outputPath != nil || !isTerminal(1))
        ? Progress(label: "decode", total: try inputPath.map(countLines(inFile:)), unit: "lines", delay: 10) : nil
    let started = monotonicSeconds()
    var speed = SpeedCount()
    var collected = ""
    var lineNumber = 1
    // A regular file can be read ahead without waiting on anyone: take big groups, so that length sorting
    // makes full batches. A pipe or terminal: take what has arrived, and answer it at once.
    let groupLimit = inputIsRegularFile ? max(2000, limits.sentences) : max(256, limits.sentences)
    while let first = reader.nextLine() {
        var group = [first]
        while group.count < groupLimit, inputIsRegularFile || reader.hasBufferedLine, let next = reader.nextLine() {
            group.append(next)
        }
        let lines = group.enumerated().map { offset, bytes -> InputLine in
            if let text = TextFile.decode(bytes) { return .text(text) }
            writeStandardError("warning: line \(lineNumber + offset): invalid UTF-8; wrote an empty line\n")
            return .invalid
        }
        let linesBefore = Double(lineNumber - 1)
        var segmentsDone = 0
        let results = try translator.translate(lines, firstLineNumber: lineNumber, warn: writeStandardError) { count in
            // Sentences are not lines when splitting: then the count moves once per group, below.
            guard !split, let progress else { return }
            segmentsDone += count
            progress.update(completed: linesBefore + Double(segmentsDone))
        }
        let text = results.map(outputFormat.lines(for:)).joined()
        if outputPath == nil { writeStandardOutput(text) } else { collected += text }
        speed.add(results)
        lineNumber += group.count
        progress?.update(completed: Double(lineNumber - 1))
    }
    progress?.finish()
    if let outputPath { try AtomicFile.write(Data(collected.utf8), to: outputPath) }
    if arguments.has("--report-speed") { writeStandardError(speed.report(seconds: monotonicSeconds() - started)) }
}

/// The number of lines in a file (a last line without a newline counts), for the progress report; read in
/// 1 MiB chunks, so a large file costs no memory.
private func countLines(inFile path: String) throws -> Double {
    guard let file = FileHandle(forReadingAtPath: path) else { throw RuntimeError("\(path): cannot read") }
    defer { try? file.close() }
    var newlines = 0
    var last: UInt8?
    while let chunk = try file.read(upToCount: 1 << 20), !chunk.isEmpty {
        chunk.withUnsafeBytes { bytes in for byte in bytes where byte == 0x0A { newlines += 1 } }
        last = chunk.last
    }
    return Double(newlines + (last == nil || last == 0x0A ? 0 : 1))
}

/// Opens a file for reading, or says in one line why not.
private func openInputFile(_ path: String) throws -> Int32 {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw RuntimeError("\(path): no such file")
    }
    if isDirectory.boolValue { throw RuntimeError("\(path): is a directory") }
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw RuntimeError("\(path): cannot read (\(String(cString: strerror(errno))))") }
    return descriptor
}

/// The model that ships with the package: `data/model` in the folder holding Package.swift.
///
/// Found by walking up from the executable (a build inside the package), then from where this file was
/// compiled (a build with its scratch path elsewhere).
/// - Throws: `RuntimeError` when there is no such folder.
func defaultModelDirectory() throws -> String {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let compiledFrom = URL(fileURLWithPath: #filePath)
    for start in [executable, compiledFrom] {
        var folder = start.deletingLastPathComponent()
        while folder.path != "/" {
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path) {
                let model = folder.appendingPathComponent("data/model").path
                if FileManager.default.fileExists(atPath: model) { return model }
                break
            }
            folder = folder.deletingLastPathComponent()
        }
    }
    throw RuntimeError("no model ships with this build yet (no data/model in the package); pass --model DIR")
}

/// What `--report-speed` counts.
struct SpeedCount {
    var sentences = 0
    /// Output pieces of the best hypotheses plus their EOS (as the PyTorch reference and CTranslate2 count).
    var targetTokens = 0

    mutating func add(_ results: [LineTranslation]) {
        for line in results {
            guard let best = line.hypotheses.first else { continue }
            sentences += 1
            targetTokens += best.tokenCount + 1
        }
    }

    /// Process CPU time (user + system) when counting started.
    var startCPUSeconds = SpeedCount.processCPUSeconds()

    /// User + system CPU seconds of the process so far, and its peak resident memory in MB.
    static func processCPUSeconds() -> Double { usage().cpuSeconds }

    private static func usage() -> (cpuSeconds: Double, peakMB: Double) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpuSeconds = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return (cpuSeconds, Double(usage.ru_maxrss) / 1024)
    }

    /// One line: counts, wall time and rates, the CPU time spent translating (user + system, all threads:
    /// on a shared machine wall time measures the load as much as the work), and peak resident memory.
    func report(seconds: Double) -> String {
        let (cpuNow, peakMB) = Self.usage()
        let cpuSeconds = cpuNow - startCPUSeconds
        return "translated \(sentences) sentences (\(targetTokens) target tokens) in \(format(seconds, 2)) s: "
            + "\(format(Double(sentences) / max(seconds, 1e-9), 1)) sentences/s, "
            + "\(format(Double(targetTokens) / max(seconds, 1e-9), 1)) target tokens/s, "
            + "cpu \(format(cpuSeconds, 2)) s (decoding only), peak memory \(format(peakMB, 0)) MB\n"
    }
}

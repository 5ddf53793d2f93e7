// `translate bench-train`: full training steps (forward, label-smoothed loss, backward, Adam) of a whole
// model on real batches, timed one by one. Its PyTorch twin is the reference's bench_train.py;
// benchmarks/train/run.sh feeds both the same batches.
import CLI
import Foundation
import Seq2Seq
import Tokenize

let benchTrainCommand = Command(
    name: "bench-train",
    abstract: "Time full training steps of a model on real batches (target tokens/s, peak memory).",
    discussion: """
        Takes the model and data flags of 'translate train' (--train, --spm, --preset, --arch, ...). The batches are \
        the first WARMUP+STEPS of the first epoch as 'translate train' would form them, or those listed in \
        --batches FILE: one batch per line, the 0-based line numbers of its pairs in the --train files, separated \
        by spaces (benchmarks/train/reference_batches.py writes the PyTorch reference's batches in this form). \
        Each step is forward, loss, backward and an Adam update, timed alone; the first WARMUP steps are not \
        counted. Reports the median and mean target tokens/s (EOS included, as the reference counts) and the \
        process's peak resident memory.
        """,
    options: ModelTrainingOptions.options + [
        .value("--batches", valueName: "FILE", help: "Batches to run, one per line as 0-based pair line numbers."),
        .value("--steps", valueName: "N", default: "20", help: "Timed steps."),
        .value("--warmup", valueName: "N", default: "3", help: "Untimed steps first."),
        .flag("--json", help: "Print one JSON object instead of a table."),
    ]
) { arguments in
    let options = try ModelTrainingOptions.resolve(arguments, parse: benchTrainCommand.parse)
    guard let pair = options.trainPairs.first else { throw UsageError("missing required option --train SRC TGT") }
    guard options.trainPairs.count == 1 else { throw UsageError("bench-train takes one --train pair") }
    guard let spmPath = options.sentencePieceModel else { throw UsageError("missing required option --spm MODEL") }
    let steps = try arguments.int("--steps", default: 20, min: 1)
    let warmup = try arguments.int("--warmup", default: 3, min: 0)
    BLAS.threadCount = options.threads
    Parallel.threadCount = options.threads

    let corpus = try ParallelCorpus.load(source: pair[0], target: pair[1])
    let sentencePiece: SentencePieceModel
    do { sentencePiece = try SentencePieceModel(contentsOf: spmPath) } catch { throw RuntimeError("\(error)") }
    let encoded = try EncodedCorpus.encode(corpus, with: sentencePiece, maxLength: options.maxLength)
    let configuration = try TrainRun(options: options).modelConfiguration(vocabulary: sentencePiece)

    var batches: [[Int]]
    if let path = arguments.string("--batches") {
        batches = try readBatches(path, corpus: encoded, lineCount: corpus.source.count)
    } else {
        batches = TokenBatcher(maxTokens: options.maxTokens).batches(
            sourceLengths: encoded.source.map(\.count), targetLengths: encoded.target.map(\.count),
            seed: TokenBatcher.epochSeed(runSeed: UInt64(options.seed), epoch: 1))
    }
    guard batches.count >= warmup + steps else {
        throw UsageError("--warmup \(warmup) + --steps \(steps) needs \(warmup + steps) batches; there are \(batches.count)")
    }
    batches = Array(batches.prefix(warmup + steps))

    let model = EncoderDecoder(configuration, seed: UInt64(options.seed))
    let parameters = model.parameters(prefix: "")
    let optimizer = Adam(parameters: parameters)
    let tape = Tape(isTraining: true)
    var rates: [Double] = []
    var timedTokens = 0
    var timedSeconds = 0.0
    for (index, batch) in batches.enumerated() {
        let started = monotonicSeconds()
        // The same work as one update of Trainer.runUpdate with --update-freq 1 and no clipping.
        tape.reseed(UInt64(index + 1))
        let c = configuration
        let source = TokenBatch(rows: batch.map { encoded.source[$0] + [c.eosId] }, padId: c.padId)
        let previous = TokenBatch(rows: batch.map { [c.eosId] + encoded.target[$0] }, padId: c.padId)
        let target = TokenBatch(rows: batch.map { encoded.target[$0] + [c.eosId] }, padId: c.padId)
        let result = model.loss(
            source: source, previousOutput: previous, target: target,
            labelSmoothing: Float(options.labelSmoothing), on: tape)
        tape.backward(from: result.loss)
        let scale = 1 / Float(max(result.tokenCount, 1))
        for (_, parameter) in parameters {
            parameter.gradient.withUnsafeMutableBufferPointer { g in
                for i in 0..<g.count { g[i] *= scale }
            }
        }
        optimizer.update(learningRate: 1e-4)
        for (_, parameter) in parameters { parameter.zeroGradient() }
        let seconds = monotonicSeconds() - started
        if index >= warmup {
            rates.append(Double(result.tokenCount) / seconds)
            timedTokens += result.tokenCount
            timedSeconds += seconds
        }
    }

    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let peakMB = Double(usage.ru_maxrss) / 1024
    let sorted = rates.sorted()
    let median = sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    let summary: [String: Any] = [
        "arch": options.arch, "parameters": model.parameterCount, "threads": options.threads,
        "steps": steps, "warmup": warmup, "median_tok_per_s": median,
        "mean_tok_per_s": Double(timedTokens) / timedSeconds, "min_tok_per_s": sorted.first!,
        "max_tok_per_s": sorted.last!, "peak_rss_mb": peakMB,
    ]
    if arguments.has("--json") {
        let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        writeStandardOutput(String(decoding: data, as: UTF8.self) + "\n")
    } else {
        writeStandardOutput(
            "\(options.arch): \(model.parameterCount) parameters, \(steps) steps after \(warmup) warm-up, "
                + "\(options.threads) threads: median \(Int(median)) target tokens/s (mean "
                + "\(Int(Double(timedTokens) / timedSeconds)), min \(Int(sorted.first!)), max \(Int(sorted.last!))), "
                + "peak memory \(Int(peakMB)) MB\n")
    }
}

/// The batches of a `--batches` file as indices into `corpus` (which may have left pairs out).
private func readBatches(_ path: String, corpus: EncodedCorpus, lineCount: Int) throws -> [[Int]] {
    var position = [Int](repeating: -1, count: lineCount)
    for (index, line) in corpus.kept.enumerated() { position[line] = index }
    let lines = try TextFile.readLines(atPath: path)
    var batches: [[Int]] = []
    for (number, line) in lines.enumerated() where !line.isEmpty {
        var batch: [Int] = []
        for field in line.split(separator: " ") {
            guard let pairLine = Int(field), pairLine >= 0, pairLine < lineCount else {
                throw RuntimeError("\(path):\(number + 1): '\(field)' is not a pair line number below \(lineCount)")
            }
            guard position[pairLine] >= 0 else {
                throw RuntimeError("\(path):\(number + 1): pair \(pairLine) was left out (empty or over --max-length)")
            }
            batch.append(position[pairLine])
        }
        batches.append(batch)
    }
    guard !batches.isEmpty else { throw RuntimeError("\(path): no batches") }
    return batches
}

// `translate bench`: the machine's sgemm rate, then forward+backward of one Transformer encoder layer and
// one Luna encoder layer, timed and split into time inside and outside matrix products.
// The PyTorch twin of these two layers is benchmarks/layer_bench.py.
import CLI
import Foundation
import Seq2Seq

let benchCommand = Command(
    name: "bench",
    abstract: "Measure sgemm and one training step (forward+backward) of a Transformer and a Luna encoder layer.",
    discussion: """
        The batch holds TOKENS tokens as TOKENS/LENGTH sentences of LENGTH tokens (no padding; the masks are still \
        applied). Each layer runs WARMUP untimed steps, then STEPS timed ones; the median is reported. gflops counts \
        the matrix-product operations of a step (2·m·n·k each) over the step's wall time; outside_matmul_share is the \
        share of the step spent outside matrix products; peak_mb is the rise of the process's peak resident memory \
        during the layer's steps. Compare with benchmarks/layer_bench.py (PyTorch) at the same settings.
        """,
    options: [
        .value("--tokens", valueName: "N", default: "4096", help: "Tokens per batch."),
        .value("--length", valueName: "N", default: "32", help: "Tokens per sentence."),
        .value("--model-dim", valueName: "D", default: "512", help: "Model width."),
        .value("--ffn-dim", valueName: "F", default: "2048", help: "Feed-forward inner width."),
        .value("--heads", valueName: "H", default: "8", help: "Attention heads (Luna: pack and unpack)."),
        .value("--projection-length", valueName: "L", default: "16", help: "Luna's projected length l."),
        .value("--dropout", valueName: "P", default: "0.1", help: "Dropout on residual branches, attention and FFN activations."),
        .value("--steps", valueName: "N", default: "5", help: "Timed steps per layer."),
        .value("--warmup", valueName: "N", default: "2", help: "Untimed steps per layer."),
        .value("--threads", valueName: "N", default: "2", help: "Threads for OpenBLAS and for the other kernels."),
        .value("--layers", valueName: "A,B", default: "transformer,luna", help: "Which layers to run."),
        .flag("--json", help: "Print one JSON object instead of a table."),
    ]
) { arguments in
    let tokens = try arguments.int("--tokens", default: 4096, min: 1)
    let length = try arguments.int("--length", default: 32, min: 1)
    guard tokens % length == 0 else { throw UsageError("--tokens \(tokens) is not a multiple of --length \(length)") }
    var settings = BenchSettings(
        batch: tokens / length, length: length,
        dimension: try arguments.int("--model-dim", default: 512, min: 1),
        hidden: try arguments.int("--ffn-dim", default: 2048, min: 1),
        heads: try arguments.int("--heads", default: 8, min: 1),
        projectionLength: try arguments.int("--projection-length", default: 16, min: 1),
        dropout: Float(try arguments.double("--dropout", default: 0.1, min: 0, max: 0.99)))
    let dropout = try arguments.double("--dropout", default: 0.1, min: 0, max: 0.99)
    guard settings.dimension % settings.heads == 0 else {
        throw UsageError("--model-dim \(settings.dimension) is not divisible by --heads \(settings.heads)")
    }
    settings.projectionLength = min(settings.projectionLength, length)
    let steps = try arguments.int("--steps", default: 5, min: 1)
    let warmup = try arguments.int("--warmup", default: 2, min: 0)
    let threads = try arguments.int("--threads", default: 2, min: 1, max: 256)
    let layers = (arguments.string("--layers") ?? "transformer,luna").split(separator: ",").map(String.init)
    for layer in layers where !["transformer", "luna"].contains(layer) {
        throw UsageError("--layers: unknown layer '\(layer)' (transformer, luna)")
    }
    BLAS.threadCount = threads
    Parallel.threadCount = threads

    let sgemm = measureSgemm()
    var results: [BenchResult] = []
    for layer in layers {
        writeStandardError("bench: \(layer) layer, \(settings.batch)×\(settings.length) tokens, \(warmup) warm-up + \(steps) steps\n")
        results.append(layer == "transformer" ? benchTransformer(settings, warmup: warmup, steps: steps) : benchLuna(settings, warmup: warmup, steps: steps))
    }
    if arguments.has("--json") {
        let object: [String: Any] = [
            "sgemm_gflops": sgemm, "threads": threads, "tokens": tokens, "length": length, "dropout": dropout,
            "layers": results.map { $0.json },
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        writeStandardOutput(String(decoding: data, as: UTF8.self) + "\n")
    } else {
        var text = String(format: "sgemm 2048×2048×2048, %d threads: %.1f GFLOP/s\n\n", threads, sgemm)
        text += "layer (forward+backward)        seconds  GFLOP/s  of sgemm  outside matmul  peak MB\n"
        for r in results {
            text += r.name.padding(toLength: 30, withPad: " ", startingAt: 0)
            text += String(format: "  %7.4f  %7.1f  %7.0f%%  %13.0f%%  %7.0f\n", r.seconds, r.gflops, 100 * r.gflops / sgemm, 100 * r.outsideMatmulShare, r.peakMB)
        }
        writeStandardOutput(text)
    }
}

struct BenchSettings {
    var batch: Int
    var length: Int
    var dimension: Int
    var hidden: Int
    var heads: Int
    var projectionLength: Int
    var dropout: Float
}

struct BenchResult {
    let name: String
    let seconds: Double
    let gflops: Double
    let outsideMatmulShare: Double
    let peakMB: Double

    var json: [String: Any] {
        ["name": name, "seconds": seconds, "gflops": gflops, "outside_matmul_share": outsideMatmulShare, "peak_mb": peakMB]
    }
}

/// The best of five 2048³ products, in GFLOP/s.
private func measureSgemm() -> Double {
    var generator = SplitMix64(seed: 1)
    let a = Variable(Tensor.normal([2048, 2048], generator: &generator))
    let b = Variable(Tensor.normal([2048, 2048], generator: &generator))
    _ = matmul(a, b)
    var best = Double.infinity
    for _ in 0..<5 {
        let start = monotonicSeconds()
        _ = matmul(a, b)
        best = min(best, monotonicSeconds() - start)
    }
    return 2 * pow(2048, 3) / best / 1e9
}

/// A value of `/proc/self/status` in MB (`VmRSS`, `VmHWM`).
private func memoryStatus(_ key: String) -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kilobytes / 1024
    }
    return 0
}

/// Times `step` (which builds a graph on the tape and returns its outputs), seeding each output's gradient
/// with a fixed random tensor.
private func measure(name: String, warmup: Int, steps: Int, tape: Tape, _ step: (Tape) -> [Variable]) -> BenchResult {
    // Resets the peak RSS to the current RSS (Linux ≥ 4.0), so that VmHWM afterwards is this layer's peak.
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    let baseline = memoryStatus("VmRSS")
    var seeds: [Tensor?] = []
    var timings: [(seconds: Double, matmulSeconds: Double, flops: Double)] = []
    for index in 0..<(warmup + steps) {
        let start = monotonicSeconds()
        if index >= warmup { BLAS.startProfiling() }
        let outputs = step(tape)
        if seeds.isEmpty {
            var generator = SplitMix64(seed: 2)
            seeds = outputs.map { Tensor.normal($0.shape, standardDeviation: 1e-3, generator: &generator) }
        }
        tape.backward(from: outputs, seeds: seeds)
        let seconds = monotonicSeconds() - start
        if index >= warmup {
            let (matmulSeconds, flops) = BLAS.stopProfiling()
            timings.append((seconds, matmulSeconds, flops))
        }
    }
    let median = timings.sorted { $0.seconds < $1.seconds }[timings.count / 2]
    return BenchResult(
        name: name, seconds: median.seconds, gflops: median.flops / median.seconds / 1e9,
        outsideMatmulShare: max(0, 1 - median.matmulSeconds / median.seconds), peakMB: memoryStatus("VmHWM") - baseline)
}

/// One post-norm Transformer encoder layer (fairseq `TransformerEncoderLayer`):
/// `x = LN(x + drop(attn(x))); x = LN(x + drop(FFN(x)))`. Shapes: `x` `[B, N, D]`, mask `[B, N]`.
private struct BenchTransformerLayer {
    let selfAttention: MultiHeadAttention
    let attentionNorm: LayerNorm
    let feedForward: FeedForward
    let feedForwardNorm: LayerNorm
    let dropout: Float

    init(_ s: BenchSettings, generator: inout SplitMix64) {
        selfAttention = MultiHeadAttention(dimension: s.dimension, headCount: s.heads, attentionDropout: s.dropout, generator: &generator)
        attentionNorm = LayerNorm(dimension: s.dimension)
        feedForward = FeedForward(dimension: s.dimension, hiddenDimension: s.hidden, activationDropout: s.dropout, generator: &generator)
        feedForwardNorm = LayerNorm(dimension: s.dimension)
        dropout = s.dropout
    }

    func callAsFunction(_ x: Variable, mask: Tensor) -> Variable {
        var x = attentionNorm(x + Seq2Seq.dropout(selfAttention(query: x, keyValue: x, keyPaddingMask: mask), probability: dropout))
        x = feedForwardNorm(x + Seq2Seq.dropout(feedForward(x), probability: dropout))
        return x
    }
}

/// One post-norm Luna encoder layer with tied key/value projections (luna.md §1.1–1.2):
/// pack `Yp = attn(s·P·W_pq, X·W_pc, X·W_pc)` (no output projection), unpack
/// `Yx = attn(X·W_q·s, Yp·W_c, Yp·W_c)·W_o`, then `X = LN(X + drop(Yx))`, `P = LN_P(P + drop(Yp))`,
/// `X = LN(X + drop(FFN(X)))`. Shapes: `x` `[B, N, D]`, `p` `[B, L, D]`, masks `[B, N]` and `[B, L]`.
private struct BenchLunaLayer {
    let packQuery, packContext, query, context, output: Linear
    let attentionNorm, projectedNorm, feedForwardNorm: LayerNorm
    let feedForward: FeedForward
    let heads: Int
    let dropout: Float

    init(_ s: BenchSettings, generator: inout SplitMix64) {
        func projection() -> Linear { Linear(inputDimension: s.dimension, outputDimension: s.dimension, generator: &generator) }
        (packQuery, packContext, query, context, output) = (projection(), projection(), projection(), projection(), projection())
        (attentionNorm, projectedNorm, feedForwardNorm) = (LayerNorm(dimension: s.dimension), LayerNorm(dimension: s.dimension), LayerNorm(dimension: s.dimension))
        feedForward = FeedForward(dimension: s.dimension, hiddenDimension: s.hidden, activationDropout: s.dropout, generator: &generator)
        heads = s.heads
        dropout = s.dropout
    }

    func callAsFunction(_ x: Variable, _ p: Variable, tokenMask: Tensor, projectedMask: Tensor) -> (Variable, Variable) {
        let scale = 1 / Float(x.shape[2] / heads).squareRoot()
        // Pack: P queries the tokens (keys = values, tied); no output projection.
        let packContext = packContext(x)  // [B, N, D]
        let packed = multiHeadAttention(
            query: packQuery(p), key: packContext, value: packContext, heads: heads, scale: scale,
            mask: keyPaddingMask(tokenMask), dropout: dropout)  // [B, L, D]
        // Unpack: the tokens query the packed context.
        let unpackContext = context(packed)  // [B, L, D]
        let unpacked = output(
            multiHeadAttention(
                query: query(x), key: unpackContext, value: unpackContext, heads: heads, scale: scale,
                mask: keyPaddingMask(projectedMask), dropout: dropout))  // [B, N, D]
        var x = attentionNorm(x + Seq2Seq.dropout(unpacked, probability: dropout))
        let p = projectedNorm(p + Seq2Seq.dropout(packed, probability: dropout))
        x = feedForwardNorm(x + Seq2Seq.dropout(feedForward(x), probability: dropout))
        return (x, p)
    }
}

private func benchTransformer(_ s: BenchSettings, warmup: Int, steps: Int) -> BenchResult {
    var generator = SplitMix64(seed: 3)
    let layer = BenchTransformerLayer(s, generator: &generator)
    let input = Tensor.normal([s.batch, s.length, s.dimension], generator: &generator)
    let mask = Tensor.paddingMask(lengths: Array(repeating: s.length, count: s.batch), maximumLength: s.length)
    return measure(name: "transformer-encoder", warmup: warmup, steps: steps, tape: Tape(seed: 4)) { tape in
        [layer(tape.input(input), mask: mask)]
    }
}

private func benchLuna(_ s: BenchSettings, warmup: Int, steps: Int) -> BenchResult {
    var generator = SplitMix64(seed: 5)
    let layer = BenchLunaLayer(s, generator: &generator)
    let input = Tensor.normal([s.batch, s.length, s.dimension], generator: &generator)
    let projected = Tensor.normal([s.batch, s.projectionLength, s.dimension], generator: &generator)
    let tokenMask = Tensor.paddingMask(lengths: Array(repeating: s.length, count: s.batch), maximumLength: s.length)
    let projectedMask = Tensor.paddingMask(lengths: Array(repeating: s.projectionLength, count: s.batch), maximumLength: s.projectionLength)
    return measure(name: "luna-encoder (l=\(s.projectionLength))", warmup: warmup, steps: steps, tape: Tape(seed: 6)) { tape in
        let (x, p) = layer(tape.input(input), tape.input(projected), tokenMask: tokenMask, projectedMask: projectedMask)
        return [x, p]
    }
}

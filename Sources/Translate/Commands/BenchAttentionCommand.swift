// `translate bench-attention`: the Luna paper's speed and memory comparison, for one attention layer.
import CLI
import Foundation
import Seq2Seq

let benchAttentionCommand = Command(
    name: "bench-attention",
    abstract: "Time and peak memory of one attention layer (forward+backward) as the sequence grows: Luna vs softmax.",
    discussion: """
        Batch 1, one layer of bidirectional Luna attention (pack + unpack, tied K/V) with each projection \
        length, and one layer of softmax self-attention, at each token count. Peak memory is the \
        activations and gradients the tape holds during a step (parameters excluded). Ratios are softmax \
        over Luna: speed-up and memory share. The Luna paper reports Luna-16 at 4k tokens using about 10% \
        of the Transformer's memory and running up to 5.5x faster.
        """,
    options: [
        .value("--lengths", valueName: "N,N", default: "1024,2048,4096,8192", help: "Token counts."),
        .value("--projection-lengths", valueName: "L,L", default: "16,256", help: "Luna's l for each Luna row."),
        .value("--model-dim", valueName: "D", default: "256", help: "Model width."),
        .value("--heads", valueName: "H", default: "4", help: "Attention heads (Luna: pack and unpack)."),
        .value("--steps", valueName: "N", default: "3", help: "Measured steps per configuration (the median is kept)."),
        .value("--threads", valueName: "N", default: "2", help: "Threads for BLAS and the other kernels."),
        .flag("--json", help: "Print one JSON object instead of a table."),
    ]
) { arguments in
    func integers(_ name: String, default value: String) throws -> [Int] {
        let text = arguments.string(name) ?? value
        let items = text.split(separator: ",").compactMap { Int($0) }
        guard !items.isEmpty, items.count == text.split(separator: ",").count, items.allSatisfy({ $0 > 0 }) else {
            throw UsageError("\(name) must be comma-separated positive integers, got '\(text)'")
        }
        return items
    }
    let lengths = try integers("--lengths", default: "1024,2048,4096,8192")
    let projections = try integers("--projection-lengths", default: "16,256")
    let dimension = try arguments.int("--model-dim", default: 256, min: 2)
    let heads = try arguments.int("--heads", default: 4, min: 1)
    guard dimension % heads == 0 else { throw UsageError("--model-dim \(dimension) is not divisible by --heads \(heads)") }
    let steps = try arguments.int("--steps", default: 3, min: 1)
    let threads = try arguments.int("--threads", default: 2, min: 1, max: 256)
    BLAS.threadCount = threads
    Parallel.threadCount = threads

    let kinds = [AttentionBenchmark.Kind.softmax] + projections.map { .luna(projectionLength: $0) }
    var rows: [[AttentionBenchmark.Measurement]] = []
    for tokens in lengths {
        rows.append(
            kinds.map { kind in
                writeStandardError("bench-attention: \(kind) at \(tokens) tokens\n")
                return AttentionBenchmark.measure(kind, tokens: tokens, dimension: dimension, heads: heads, steps: steps)
            })
    }
    if arguments.has("--json") {
        let entries: [[String: Any]] = rows.flatMap { row in
            row.map { m in
                [
                    "layer": m.kind.description, "tokens": m.tokens, "seconds": m.seconds,
                    "peak_mb": Double(m.peakBytes) / 1_048_576, "speedup_vs_softmax": row[0].seconds / m.seconds,
                    "memory_share_of_softmax": Double(m.peakBytes) / Double(row[0].peakBytes),
                ]
            }
        }
        let object: [String: Any] = ["model_dim": dimension, "heads": heads, "threads": threads, "results": entries]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        writeStandardOutput(String(decoding: data, as: UTF8.self) + "\n")
        return
    }
    var text = "one attention layer, forward+backward, batch 1, d=\(dimension), \(heads) heads, \(threads) threads\n\n"
    text += "tokens  layer       seconds   peak MB  speed-up  memory share\n"
    for row in rows {
        for m in row {
            text += String(
                format: "%6d  %-10@  %7.4f  %8.1f  %7.2fx  %11.1f%%\n", m.tokens, m.kind.description as NSString, m.seconds,
                Double(m.peakBytes) / 1_048_576, row[0].seconds / m.seconds, 100 * Double(m.peakBytes) / Double(row[0].peakBytes))
        }
    }
    writeStandardOutput(text)
}

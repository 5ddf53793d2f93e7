import CLI
import Foundation

/// `metrics.jsonl` in the save directory: one JSON object per logged update, appended as training
/// goes, and the SVG of its curves (`metrics.svg`) regenerated from it after each validation.
///
/// Each record holds at least `update`, `epoch`, `loss`, `lr`, `target_tokens_per_second` and
/// `wall_seconds`; records written after a validation add `valid_loss` and `valid_bleu`.
struct MetricsLog {
    let path: String

    init(directory: String) {
        path = (directory as NSString).appendingPathComponent("metrics.jsonl")
    }

    /// Appends one record as a line and flushes it to disk.
    func append(_ record: [String: Double]) throws {
        let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw RuntimeError("\(path): cannot create")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw RuntimeError("\(path): cannot open for appending")
        }
        defer { try? handle.close() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: data + Data("\n".utf8))
            try handle.synchronize()
        } catch {
            throw RuntimeError("\(path): cannot append (\(error.localizedDescription))")
        }
    }

    /// Every record in the log; lines that do not parse (a write cut short by a kill) are skipped.
    func records() -> [[String: Double]] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return data.split(separator: 0x0A).compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Double]
        }
    }

    /// Drops records of updates after `update` (logged after the checkpoint a run resumes from),
    /// so the resumed run's records follow on without duplicates.
    func truncate(afterUpdate update: Int) throws {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let kept = data.split(separator: 0x0A).filter { line in
            guard let record = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Double] else {
                return false
            }
            return (record["update"] ?? 0) <= Double(update)
        }
        try AtomicFile.write(Data(kept.joined(separator: [0x0A])) + (kept.isEmpty ? Data() : Data([0x0A])), to: path)
    }

    /// The curves of the log: training and validation loss on top, validation BLEU below.
    func plot() -> CurvePlot {
        let records = records()
        func series(_ key: String, _ name: String, _ color: String) -> CurvePlot.Series {
            CurvePlot.Series(
                name: name, color: color,
                points: records.compactMap { record in
                    guard let x = record["update"], let y = record[key] else { return nil }
                    return (x, y)
                })
        }
        return CurvePlot(
            xLabel: "update",
            panels: [
                CurvePlot.Panel(
                    title: "loss (label-smoothed, per target token)",
                    series: [
                        series("loss", "train", "#1f77b4"), series("valid_loss", "valid", "#d62728"),
                    ]),
                CurvePlot.Panel(title: "validation BLEU", series: [series("valid_bleu", "valid BLEU", "#2ca02c")]),
            ])
    }

    /// Writes `metrics.svg` beside the log, atomically.
    func writePlot() throws {
        let svgPath = (path as NSString).deletingLastPathComponent + "/metrics.svg"
        try AtomicFile.write(Data(plot().svg().utf8), to: svgPath)
    }
}

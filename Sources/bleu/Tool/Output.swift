import BLEU
import CLI
import Foundation

/// What `bleu` prints, line for line as sacreBLEU's `print_single_results`,
/// `print_results_table` and the sentence-level loop do.
enum Output {
    typealias Settings = BLEUCommand.Settings

    static func write(_ text: String) { writeStandardOutput(text) }

    // MARK: - Sentence level

    static func sentenceLevel(_ metric: ScoringMetric, system: [String], references: [[String]], settings: Settings) throws {
        let segments = try metric.segmentStatistics(system, references)
        let signature = metric.signature(referenceCount: references.count)
        let stride = metric.stride
        var text = ""
        text.reserveCapacity(system.count * (settings.scoreOnly ? 8 : 160))
        for i in 0..<system.count {
            let (score, verbose) = metric.score(Array(segments[i * stride..<(i + 1) * stride]))
            let report = ScoreReport(name: metric.name, score: score, verbose: verbose, signature: signature)
            text += settings.scoreOnly ? report.scoreText(width: settings.width) : report.textLine(width: settings.width, shortSignature: settings.short)
            text += "\n"
        }
        write(text)
    }

    // MARK: - One system

    static func singleSystem(_ metrics: [ScoringMetric], system: [String], references: [[String]], settings: Settings) throws {
        var results: [String] = []
        for metric in metrics {
            let segments = try metric.segmentStatistics(system, references)
            let (score, verbose) = metric.score(segments)
            var signature = metric.signature(referenceCount: references.count)
            var confidence: (mean: Double, halfWidth: Double)? = nil
            if let samples = settings.confidence {
                let indices = Resampling.indices(count: system.count, samples: samples, seed: Resampling.defaultSeed)
                let scores = Resampling.scores(
                    segments: segments, stride: metric.stride, indices: indices, samples: samples,
                    score: metric.bootstrapScore)
                confidence = Resampling.confidence(scores)
                signature = signature.withResampling(samples: samples, seed: String(Resampling.defaultSeed))
            }
            let report = ScoreReport(name: metric.name, score: score, verbose: verbose, signature: signature, confidence: confidence)
            if settings.scoreOnly {
                results.append(report.scoreText(width: settings.width))
            } else if settings.json {
                results.append(report.json(width: settings.width))
            } else {
                results.append(report.textLine(width: settings.width, shortSignature: settings.short))
            }
        }
        if settings.json {
            write(results.count > 1 ? "[\n" + results.joined(separator: ",\n") + "\n]\n" : results[0] + "\n")
            return
        }
        if results.count == 1 {
            write(results[0] + "\n")
            return
        }
        // Several text lines: right-align everything before each line's first '='.
        var text = ""
        var widths: [Int?] = []
        for line in results {
            if let equals = line.unicodeScalars.firstIndex(of: "=") {
                widths.append(line.unicodeScalars.distance(from: line.unicodeScalars.startIndex, to: equals) - 1)
            } else {
                text += line + "\n"
                widths.append(nil)
            }
        }
        let width = widths.compactMap { $0 }.max() ?? 0
        for (line, split) in zip(results, widths) {
            guard let split else { continue }
            let scalars = Array(line.unicodeScalars)
            let left = String(String.UnicodeScalarView(scalars[0..<split]))
            let right = String(String.UnicodeScalarView(scalars[split...]))
            text += String(repeating: " ", count: max(0, width - split)) + left + right + "\n"
        }
        write(text)
    }

    // MARK: - Several systems

    /// One cell of the results: a plain formatted score, or a paired-test result.
    enum Cell {
        case plain(String)
        case paired(score: Double, pValue: Double?, mean: Double, halfWidth: Double)
    }

    static func multiSystem(_ metrics: [ScoringMetric], systems: [NamedLines], references: [[String]], settings: Settings) throws {
        var columns: [(name: String, cells: [Cell])] = []
        var signatures: [(String, String)] = []
        for metric in metrics {
            var cells: [Cell] = []
            var signature = metric.signature(referenceCount: references.count)
            if let samples = settings.pairedSamples {
                signature = signature.withResampling(samples: samples, seed: String(Resampling.defaultSeed))
                let count = systems[0].lines.count
                let indices = Resampling.indices(count: count, samples: samples, seed: Resampling.defaultSeed)
                var baselineScores: [Double] = []
                var baselineScore = 0.0
                for (k, system) in systems.enumerated() {
                    let segments = try metric.segmentStatistics(system.lines, references)
                    let score = metric.score(segments).score
                    let resampled = Resampling.scores(
                        segments: segments, stride: metric.stride, indices: indices, samples: samples,
                        score: metric.bootstrapScore)
                    if k == 0 {
                        baselineScores = resampled
                        baselineScore = score
                        let (mean, halfWidth) = Resampling.numpyConfidence(resampled)
                        cells.append(.paired(score: score, pValue: nil, mean: mean, halfWidth: halfWidth))
                    } else {
                        let test = Resampling.pairedBootstrap(
                            baselineScores: baselineScores, systemScores: resampled,
                            baselineScore: baselineScore, systemScore: score)
                        cells.append(.paired(score: score, pValue: test.pValue, mean: test.mean, halfWidth: test.halfWidth))
                    }
                }
            } else {
                for system in systems {
                    let segments = try metric.segmentStatistics(system.lines, references)
                    cells.append(.plain(PythonFormat.fixed(metric.score(segments).score, settings.width)))
                }
            }
            columns.append((metric.name, cells))
            signatures.append((metric.name, signature.format(short: settings.short)))
        }
        if settings.json {
            write(multiSystemJSON(systems: systems.map(\.name), columns: columns))
        } else {
            write(multiSystemTable(systems: systems.map(\.name), columns: columns, signatures: signatures, settings: settings))
        }
    }

    /// `json.dumps(..., indent=4)` of the per-system list sacreBLEU prints.
    static func multiSystemJSON(systems: [String], columns: [(name: String, cells: [Cell])]) -> String {
        var objects: [String] = []
        for (i, system) in systems.enumerated() {
            var fields = ["        \"system\": \(jsonASCII(system))"]
            for column in columns {
                switch column.cells[i] {
                case .plain(let text):
                    fields.append("        \(jsonASCII(column.name)): \(jsonASCII(text))")
                case .paired(let score, let pValue, let mean, let halfWidth):
                    let inner = [
                        "            \"score\": \(PythonFormat.repr(score))",
                        "            \"p_value\": \(pValue.map(PythonFormat.repr) ?? "null")",
                        "            \"mean\": \(PythonFormat.repr(mean))",
                        "            \"ci\": \(PythonFormat.repr(halfWidth))",
                    ]
                    fields.append("        \(jsonASCII(column.name)): {\n" + inner.joined(separator: ",\n") + "\n        }")
                }
            }
            objects.append("    {\n" + fields.joined(separator: ",\n") + "\n    }")
        }
        return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }

    /// `json.dumps` with its default `ensure_ascii=True`: non-ASCII as `\uXXXX` escapes.
    static func jsonASCII(_ text: String) -> String {
        var out = ""
        for unit in PythonFormat.jsonString(text).utf16 {
            if unit < 0x80 {
                out.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            } else {
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out
    }

    /// The fancy-grid table, then the paired-test explanation and the signatures.
    static func multiSystemTable(
        systems: [String], columns: [(name: String, cells: [Cell])], signatures: [(String, String)], settings: Settings
    ) -> String {
        let paired = settings.pairedSamples != nil
        var headers = ["System"]
        var rows: [[String]] = systems.map { [$0] }
        for column in columns {
            headers.append(paired ? column.name + " (μ ± 95% CI)" : column.name)
            for (i, cell) in column.cells.enumerated() {
                switch cell {
                case .plain(let text):
                    rows[i].append(text)
                case .paired(let score, let pValue, let mean, let halfWidth):
                    let w = settings.width
                    var text = "\(PythonFormat.fixed(score, w)) (\(PythonFormat.fixed(mean, w)) ± \(PythonFormat.fixed(halfWidth, w)))"
                    if let pValue {
                        text += "\n(p = \(PythonFormat.fixed(pValue, 4)))" + (pValue > 0.05 ? "" : "*")
                    }
                    rows[i].append(text)
                }
            }
        }
        var text = FancyGrid.render(headers: headers, rows: rows) + "\n\n"
        if let samples = settings.pairedSamples {
            let baseline = systems[0]
            let message = "Paired bootstrap resampling test with \(samples) resampling trials"
            let rule = String(repeating: "-", count: message.count)
            text += """
                \(rule)
                \(message)
                \(rule)
                 - Each system is pairwise compared to \(baseline).
                   Actual system score / bootstrap estimated true mean / 95% CI are provided for each metric.

                 - Null hypothesis: the system and the baseline translations are essentially
                   generated by the same underlying process. For a given system and the baseline,
                   the p-value is roughly the probability of the absolute score difference (delta)
                   or higher occurring due to chance, under the assumption that the null hypothesis is correct.

                 - Assuming a significance threshold of 0.05, the null hypothesis can be rejected
                   for p-values < 0.05 (marked with "*"). This means that the delta is unlikely to be attributed
                   to chance, hence the system is significantly "different" than the baseline.
                   Otherwise, the p-values are highlighted in red.

                 - NOTE: Significance does not tell whether a system is "better" than the baseline but rather
                   emphasizes the "difference" of the systems in terms of the replicability of the delta.


                """
        }
        text += "-----------------\nMetric signatures\n-----------------\n"
        for (name, signature) in signatures {
            text += " - " + name.padding(toLength: max(10, name.count), withPad: " ", startingAt: 0) + " " + signature + "\n"
        }
        _ = paired
        return text
    }
}

/// python-tabulate's `fancy_grid` as sacreBLEU calls it: first column right-aligned, the others
/// centred, minimum padding of 2 around headers, multi-line cells, widths in code points.
enum FancyGrid {
    static func render(headers: [String], rows: [[String]]) -> String {
        let columnCount = headers.count
        var widths = headers.map { $0.unicodeScalars.count + 2 }
        for row in rows {
            for (c, cell) in row.enumerated() {
                for line in cell.split(separator: "\n", omittingEmptySubsequences: false) {
                    widths[c] = max(widths[c], line.unicodeScalars.count)
                }
            }
        }
        func align(_ text: String, _ c: Int) -> String {
            let pad = widths[c] - text.unicodeScalars.count
            if c == 0 { return String(repeating: " ", count: pad) + text }
            let left = pad / 2
            return String(repeating: " ", count: left) + text + String(repeating: " ", count: pad - left)
        }
        func rule(_ left: String, _ fill: String, _ middle: String, _ right: String) -> String {
            left + (0..<columnCount).map { String(repeating: fill, count: widths[$0] + 2) }.joined(separator: middle) + right
        }
        func lines(_ cells: [String]) -> [String] {
            let split = cells.map { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
            let height = split.map(\.count).max() ?? 1
            return (0..<height).map { l in
                "│ " + (0..<columnCount).map { c in align(l < split[c].count ? split[c][l] : "", c) }.joined(separator: " │ ") + " │"
            }
        }
        var out = [rule("╒", "═", "╤", "╕")]
        out += lines(headers)
        out.append(rule("╞", "═", "╪", "╡"))
        for (r, row) in rows.enumerated() {
            out += lines(row)
            out.append(r == rows.count - 1 ? rule("╘", "═", "╧", "╛") : rule("├", "─", "┼", "┤"))
        }
        return out.joined(separator: "\n")
    }
}

import BLEU
import CLI
import Foundation

/// `bleu`: sacreBLEU 2.x's command line for scoring files: `bleu REF [REF ...] -i HYP [HYP ...]`.
enum BLEUCommand {
    static let command = Command(
        name: "bleu",
        abstract: "Score translations with BLEU and chrF exactly as sacreBLEU 2.6.0 does.",
        discussion: """
            Hypotheses come from the -i files, or from stdin (one system per tab-separated column).
            With several -i files, scores are listed per system; --paired-bs tests each against
            the first. Output is sacreBLEU's: JSON by default, text with -f text, the bare number
            with -b. Signatures name this tool as their version.
            """,
        options: options, positionals: "REF [REF ...]", count: 1...10_000,
        run: { arguments in try run(arguments) })

    static let options: [Option] = [
        .values("--input", "-i", valueName: "FILE", help: "Hypothesis files, one per system (default: stdin)."),
        .value("--num-refs", "-nr", valueName: "N", default: "1", help: "Tab-separated references per line of a single REF file."),
        .values("--metrics", "-m", valueName: "METRIC", default: "bleu", help: "Metrics: bleu, chrf."),
        .flag("--sentence-level", "-sl", help: "Score each sentence (one metric, one system)."),
        .value("--smooth-method", "-s", valueName: "METHOD", default: "exp", help: "BLEU smoothing: exp, floor, add-k, none."),
        .value("--smooth-value", "-sv", valueName: "X", help: "Value for floor (default 0.1) and add-k (default 1)."),
        .value("--tokenize", "-tok", valueName: "NAME", default: "13a", help: "BLEU tokenizer: 13a, intl, zh, char, none."),
        .flag("--lowercase", "-lc", help: "Case-insensitive BLEU."),
        .flag("--force", help: "Accepted for compatibility; no effect."),
        .value("--chrf-char-order", "-cc", valueName: "N", default: "6", help: "chrF character n-gram order."),
        .value("--chrf-word-order", "-cw", valueName: "N", default: "0", help: "chrF word n-gram order (2 = chrF++)."),
        .value("--chrf-beta", valueName: "N", default: "2", help: "chrF recall weight."),
        .flag("--chrf-whitespace", help: "Keep whitespace in chrF character n-grams."),
        .flag("--chrf-lowercase", help: "Case-insensitive chrF."),
        .flag("--chrf-eps-smoothing", help: "chrF++.py-style epsilon smoothing."),
        .flag("--confidence", "-ci", help: "Bootstrap 95% confidence interval (one system)."),
        .value("--confidence-n", "-cin", valueName: "N", default: "1000", help: "Bootstrap resamples for -ci."),
        .flag("--paired-bs", "-pbs", help: "Paired bootstrap resampling test against the first system."),
        .value("--paired-bs-n", "-pbsn", valueName: "N", default: "1000", help: "Resamples for --paired-bs."),
        .flag("--quiet", "-q", help: "Accepted for compatibility; bleu prints no progress."),
        .flag("--short", "-sh", help: "Short signature."),
        .flag("--score-only", "-b", help: "Print only the score."),
        .value("--width", "-w", valueName: "N", default: "1", help: "Decimals in scores."),
        .flag("--no-color", "-nc", help: "Accepted for compatibility; bleu never colors."),
        .value("--format", "-f", valueName: "FORMAT", default: "json", help: "Output format: json, text."),
        .value("--encoding", "-e", valueName: "NAME", default: "utf-8", help: "Input encoding; only utf-8."),
    ]

    /// Everything the command line asked for, checked.
    struct Settings {
        var referenceFiles: [String]
        var inputFiles: [String]?
        var referenceCount: Int
        var metrics: [String]
        var sentenceLevel: Bool
        var bleu: BLEU
        var chrf: CHRF
        var confidence: Int?
        var pairedSamples: Int?
        var short: Bool
        var scoreOnly: Bool
        var width: Int
        var json: Bool
    }

    static func settings(_ arguments: ParsedArguments) throws -> Settings {
        let tokenizerName = try arguments.choice(
            "--tokenize", default: "13a", from: Tokenizer.allCases.map(\.rawValue))
        let smoothName = try arguments.choice("--smooth-method", default: "exp", from: ["exp", "floor", "add-k", "none"])
        let smoothValue = arguments.has("--smooth-value") ? try arguments.double("--smooth-value", default: 0) : nil
        let metrics = arguments.has("--metrics") ? arguments.strings("--metrics") : ["bleu"]
        for metric in metrics where !["bleu", "chrf"].contains(metric) {
            throw UsageError("--metrics must be bleu or chrf, got '\(metric)'")
        }
        let format = try arguments.choice("--format", default: "json", from: ["json", "text"])
        let encoding = arguments.string("--encoding") ?? "utf-8"
        guard ["utf-8", "utf8", "UTF-8"].contains(encoding) else {
            throw UsageError("--encoding must be utf-8, got '\(encoding)'")
        }
        let references = arguments.positionals
        let referenceCount = try arguments.int("--num-refs", default: 1, min: 1, max: 1000)
        if referenceCount != 1 && references.count > 1 {
            throw UsageError("--num-refs reads tab-separated references from one REF file, got \(references.count) files")
        }
        let inputs = arguments.has("--input") ? arguments.strings("--input") : nil
        let confidence = arguments.has("--confidence") ? try arguments.int("--confidence-n", default: 1000, min: 2, max: 1_000_000) : nil
        let paired = arguments.has("--paired-bs") ? try arguments.int("--paired-bs-n", default: 1000, min: 1, max: 1_000_000) : nil
        let sentenceLevel = arguments.has("--sentence-level")
        if sentenceLevel && metrics.count > 1 { throw UsageError("only one metric can be used in sentence-level mode") }
        return Settings(
            referenceFiles: references, inputFiles: inputs, referenceCount: referenceCount,
            metrics: Array(Set(metrics)).sorted(), sentenceLevel: sentenceLevel,
            bleu: BLEU(
                tokenizer: Tokenizer(rawValue: tokenizerName)!, lowercase: arguments.has("--lowercase"),
                smoothing: Smoothing(name: smoothName, value: smoothValue)!, effectiveOrder: sentenceLevel),
            chrf: CHRF(
                characterOrder: try arguments.int("--chrf-char-order", default: 6, min: 1, max: 6),
                wordOrder: try arguments.int("--chrf-word-order", default: 0, min: 0, max: 4),
                beta: try arguments.int("--chrf-beta", default: 2, min: 0, max: 100),
                lowercase: arguments.has("--chrf-lowercase"), whitespace: arguments.has("--chrf-whitespace"),
                epsSmoothing: arguments.has("--chrf-eps-smoothing")),
            confidence: confidence, pairedSamples: paired, short: arguments.has("--short"),
            scoreOnly: arguments.has("--score-only"), width: try arguments.int("--width", default: 1, min: 0, max: 30),
            json: format == "json")
    }

    static func run(_ arguments: ParsedArguments) throws {
        let settings = try settings(arguments)
        let references = try Inputs.references(settings.referenceFiles, count: settings.referenceCount)
        var systems = try Inputs.systems(settings.inputFiles, paired: settings.pairedSamples != nil)

        if settings.sentenceLevel {
            if systems.count > 1 { throw RuntimeError("only one system can be evaluated in sentence-level mode") }
            if settings.confidence != nil || settings.pairedSamples != nil {
                throw RuntimeError("statistical tests are unavailable in sentence-level mode")
            }
        }
        if settings.pairedSamples != nil && systems.count == 1 {
            throw RuntimeError("paired tests need several systems given to --input (-i)")
        }
        if systems.count > 1 && settings.confidence != nil {
            throw RuntimeError("use paired tests (--paired-bs) for several systems")
        }
        for system in systems {
            if system.lines.isEmpty { throw RuntimeError("\(system.name) has no lines") }
            for stream in references.streams where stream.lines.count != system.lines.count {
                throw RuntimeError(
                    "\(system.name) has \(system.lines.count) lines but \(stream.name) has \(stream.lines.count)")
            }
        }
        let referenceLines = references.streams.map(\.lines)
        let metrics = settings.metrics.map { name -> ScoringMetric in
            name == "bleu" ? .bleu(settings.bleu) : .chrf(settings.chrf)
        }

        if settings.sentenceLevel {
            try Output.sentenceLevel(
                metrics[0], system: systems[0].lines, references: referenceLines, settings: settings)
        } else if systems.count == 1 {
            try Output.singleSystem(metrics, system: systems[0].lines, references: referenceLines, settings: settings)
        } else {
            if settings.pairedSamples != nil { systems[0].name = "Baseline: \(systems[0].name)" }
            try Output.multiSystem(metrics, systems: systems, references: referenceLines, settings: settings)
        }
    }
}

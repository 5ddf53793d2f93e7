// Reference: mjpost/sacrebleu 2.6.0, sacrebleu/metrics/base.py (Signature, Score.format).

/// A reproducibility signature: the settings a score was computed with, in sacreBLEU's field
/// order, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:translate-bleu-0.1.0`.
///
/// The fields are sacreBLEU's; `version` names this tool rather than a sacreBLEU release.
public struct Signature: Sendable, Equatable, CustomStringConvertible {
    /// What `version:` says by default: this scorer, which reproduces sacreBLEU 2.6.0.
    public static let defaultVersion = "translate-bleu-0.1.0"

    /// `(long name, short name, value)` in output order; `version` always last.
    public private(set) var fields: [(name: String, short: String, value: String)]

    public static func == (lhs: Signature, rhs: Signature) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.short == $1.short && $0.value == $1.value }
    }

    init(fields: [(name: String, short: String, value: String)]) {
        self.fields = fields
    }

    /// BLEU's fields.
    init(
        BLEUFields referenceCount: Int, lowercase: Bool, effectiveOrder: Bool, tokenizer: String,
        smoothing: String, version: String
    ) {
        fields = [
            ("nrefs", "#", Self.referenceCountText(referenceCount)),
            ("case", "c", lowercase ? "lc" : "mixed"),
            ("eff", "e", effectiveOrder ? "yes" : "no"),
            ("tok", "tok", tokenizer),
            ("smooth", "s", smoothing),
            ("version", "v", version),
        ]
    }

    static func referenceCountText(_ count: Int) -> String { count < 0 ? "var" : String(count) }

    /// Adds the resampling fields sacreBLEU adds: `bs:1000|seed:12345` (after `nrefs`).
    public func withResampling(samples: Int, seed: String) -> Signature {
        var copy = self
        var insertAt = 1
        if let i = copy.fields.firstIndex(where: { $0.name == "nrefs" }) { insertAt = i + 1 }
        copy.fields.removeAll { $0.name == "bs" || $0.name == "seed" }
        copy.fields.insert(("bs", "bs", String(samples)), at: insertAt)
        copy.fields.insert(("seed", "rs", seed), at: insertAt + 1)
        return copy
    }

    /// The signature string; `short` uses sacreBLEU's abbreviations (`#:1|c:mixed|...`).
    public func format(short: Bool = false) -> String {
        fields.map { "\(short ? $0.short : $0.name):\($0.value)" }.joined(separator: "|")
    }

    public var description: String { format() }
}

/// A metric's result ready to print as sacreBLEU prints it: the text line, the JSON object or
/// the bare score.
public struct ScoreReport: Sendable {
    /// `BLEU`, `chrF2`, `chrF2++`.
    public var name: String
    public var score: Double
    /// BLEU's precisions and lengths; `nil` for chrF.
    public var verbose: String?
    public var signature: Signature
    /// Bootstrap mean and half-width of the 95% interval (`-ci`).
    public var confidence: (mean: Double, halfWidth: Double)?

    public init(
        name: String, score: Double, verbose: String?, signature: Signature,
        confidence: (mean: Double, halfWidth: Double)? = nil
    ) {
        self.name = name
        self.score = score
        self.verbose = verbose
        self.signature = signature
        self.confidence = confidence
    }

    /// The score with `width` decimals, and the interval when there is one:
    /// `35.1 (μ = 35.1 ± 0.9)`.
    public func scoreText(width: Int) -> String {
        var text = PythonFormat.fixed(score, width)
        if let confidence, confidence.mean > 0 {
            text += " (\(confidenceText(confidence, width: width)))"
        }
        return text
    }

    private func confidenceText(_ confidence: (mean: Double, halfWidth: Double), width: Int) -> String {
        "μ = \(PythonFormat.fixed(confidence.mean, width)) ± \(PythonFormat.fixed(confidence.halfWidth, width))"
    }

    /// sacreBLEU's text line: `BLEU|nrefs:1|...|version:... = 35.1 67.0/41.0/28.2/19.9 (BP = ...)`.
    public func textLine(width: Int, shortSignature: Bool = false) -> String {
        let signatureText = signature.format(short: shortSignature)
        var line = signatureText.isEmpty ? name : "\(name)|\(signatureText)"
        line += " = " + scoreText(width: width)
        if let verbose, !verbose.isEmpty { line += " " + verbose }
        return line
    }

    /// sacreBLEU's JSON object (`json.dumps(d, indent=1, ensure_ascii=False)`): name, score
    /// rounded to `width` decimals, signature, the interval when there is one, verbose score, then
    /// each signature field.
    public func json(width: Int) -> String {
        var pairs: [(String, String)] = [
            ("name", PythonFormat.jsonString(name)),
            ("score", PythonFormat.repr(Double(PythonFormat.fixed(score, width)) ?? score)),
            ("signature", PythonFormat.jsonString(signature.format())),
        ]
        if let confidence, confidence.mean > 0 {
            let mean = PythonFormat.fixed(confidence.mean, width)
            let halfWidth = PythonFormat.fixed(confidence.halfWidth, width)
            pairs.append(("confidence_mean", PythonFormat.repr(Double(mean) ?? 0)))
            pairs.append(("confidence_var", PythonFormat.repr(Double(halfWidth) ?? 0)))
            pairs.append(("confidence", PythonFormat.jsonString(confidenceText(confidence, width: width))))
        }
        if let verbose, !verbose.isEmpty { pairs.append(("verbose_score", PythonFormat.jsonString(verbose))) }
        for field in signature.fields {
            pairs.append((field.name, PythonFormat.jsonString(field.value)))
        }
        return "{\n" + pairs.map { " \(PythonFormat.jsonString($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}"
    }
}

extension BLEUScore {
    /// This score as sacreBLEU reports it, with `signature`.
    public func report(signature: Signature) -> ScoreReport {
        ScoreReport(name: "BLEU", score: score, verbose: verbose, signature: signature)
    }
}

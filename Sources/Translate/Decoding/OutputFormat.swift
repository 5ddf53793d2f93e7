// How `translate decode` writes its results: plain text, CTranslate2's `score ||| text`, Marian's n-best
// layout, or JSON lines.
import Foundation

/// The output layouts of `translate decode`. Every layout gives each input line at least one output
/// line, so outputs stay aligned with inputs (an n-best list gives `nbest` lines per input).
enum OutputFormat: String, CaseIterable {
    /// The best translation, one line per input line.
    case plain
    /// `score ||| text`, one line per input line (CTranslate2's `--with_score`).
    case withScore
    /// Marian's n-best layout: `id ||| text ||| F0=logprob ||| score` for every hypothesis, id 0-based.
    case nBest
    /// One JSON object per input line.
    case jsonLines

    /// The lines (each ending in `\n`) written for one input line.
    func lines(for line: LineTranslation) -> String {
        switch self {
        case .plain:
            return (line.hypotheses.first?.text ?? "") + "\n"
        case .withScore:
            return "\(scoreText(line.hypotheses.first?.score ?? 0)) ||| \(line.hypotheses.first?.text ?? "")\n"
        case .nBest:
            let id = line.lineNumber - 1
            if line.hypotheses.isEmpty { return "\(id) |||  ||| F0=0 ||| 0\n" }
            return line.hypotheses.map { hypothesis in
                "\(id) ||| \(hypothesis.text) ||| F0=\(scoreText(hypothesis.logProbability)) ||| \(scoreText(hypothesis.score))\n"
            }.joined()
        case .jsonLines:
            return jsonLine(for: line) + "\n"
        }
    }

    /// `{"id":…,"translation":…,"score":…,"log_probability":…,"tokens":…}`, keys in that order;
    /// `"nbest":[{…},…]` when there are several hypotheses; `"error":"invalid UTF-8"` for such a line.
    private func jsonLine(for line: LineTranslation) -> String {
        var fields = ["\"id\":\(line.lineNumber - 1)"]
        let best = line.hypotheses.first
        fields.append("\"translation\":\(jsonString(best?.text ?? ""))")
        if let best { fields += hypothesisFields(best).dropFirst() }
        if line.hypotheses.count > 1 {
            let list = line.hypotheses.map { "{" + hypothesisFields($0).joined(separator: ",") + "}" }
            fields.append("\"nbest\":[" + list.joined(separator: ",") + "]")
        }
        if line.isInvalid { fields.append("\"error\":\"invalid UTF-8\"") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    private func hypothesisFields(_ hypothesis: TranslatedText) -> [String] {
        [
            "\"translation\":\(jsonString(hypothesis.text))", "\"score\":\(scoreText(hypothesis.score))",
            "\"log_probability\":\(scoreText(hypothesis.logProbability))", "\"tokens\":\(hypothesis.tokenCount)",
        ]
    }
}

/// A score with six decimals (`-0.000000` printed as `0.000000`).
func scoreText(_ value: Double) -> String {
    let text = String(format: "%.6f", value)
    return text == "-0.000000" ? "0.000000" : text
}

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

// `translate info`: what a model directory holds, without running it.
import CLI
import Foundation
import Seq2Seq

let infoCommand = Command(
    name: "info",
    abstract: "Describe a model directory: architecture, parameters per module, vocabulary, training.",
    discussion: """
        Reads config.json and model.safetensors (checking them as 'translate decode' would) and, when \
        present, spm.model and the training options train-config.json written by 'translate train'.
        """,
    options: [
        .value("--model", valueName: "DIR", help: "Model directory.")
    ]
) { arguments in
    let directory = try arguments.required("--model")
    let model = try loadModelDirectory(directory)
    writeStandardOutput(modelDescription(model, directory: directory))
}

/// The text `translate info` prints.
func modelDescription(_ model: EncoderDecoder, directory: String) -> String {
    let c = model.configuration
    var lines = ["model: \(directory)"]
    var architecture = [c.arch.rawValue, c.normalizeBefore ? "pre-norm" : "post-norm"]
    if c.arch == .luna {
        architecture += [
            c.tieKeyValue ? "tied keys/values" : "untied keys/values",
            c.causalActivation == .softplus ? "causal softplus (beta ln 2)" : "causal elu+1",
            "\(c.crossAttention.rawValue) cross-attention",
            c.dynamicProjection ? "dynamic projection length" : "fixed projection length",
        ]
    }
    lines.append("architecture: " + architecture.joined(separator: ", "))
    var dimensions = ["d_model \(c.modelDimension)", "heads \(c.attentionHeads)"]
    if c.arch == .luna { dimensions += ["pack heads \(c.packHeads)", "projection length \(c.projectionLength)"] }
    dimensions += ["ffn \(c.ffnDimension)", "layers \(c.encoderLayers) + \(c.decoderLayers)"]
    lines.append("dimensions: " + dimensions.joined(separator: ", "))
    let spm = (directory as NSString).appendingPathComponent(ModelDirectory.sentencePieceFile)
    lines.append(
        "vocabulary: \(c.vocabularySize) (pad \(c.padId), unk \(c.unknownId), bos \(c.bosId), eos \(c.eosId)), "
            + (FileManager.default.fileExists(atPath: spm) ? "spm.model present" : "no spm.model"))
    lines.append("dropout: \(c.dropout), attention \(c.attentionDropout), activation \(c.activationDropout)")

    // Parameters grouped by module: each layer as one line, other tensors by their module path.
    var modules: [(name: String, count: Int)] = []
    for (name, parameter) in model.parameters(prefix: "") {
        let parts = name.split(separator: ".")
        let module =
            parts.count > 2 && parts[1] == "layers"
            ? parts[0...2].joined(separator: ".")
            : (parts.last == "weight" || parts.last == "bias" ? parts.dropLast() : parts[...]).joined(separator: ".")
        if let last = modules.last, last.name == module {
            modules[modules.count - 1].count += parameter.value.count
        } else {
            modules.append((module, parameter.value.count))
        }
    }
    lines.append("parameters: \(grouped(model.parameterCount))")
    let width = modules.map(\.name.count).max() ?? 0
    for (name, count) in modules {
        let note = name == "encoder.embed_tokens" ? "  (shared: source, target, output)" : ""
        let number = grouped(count)
        lines.append(
            "  " + name + String(repeating: " ", count: width - name.count + 2)
                + String(repeating: " ", count: max(0, 12 - number.count)) + number + note)
    }
    lines += trainingSignature(directory)
    return lines.joined(separator: "\n") + "\n"
}

/// `train-config.json`'s scalar entries, one `key: value` line each, if the file is there.
private func trainingSignature(_ directory: String) -> [String] {
    let path = (directory as NSString).appendingPathComponent("train-config.json")
    guard let data = FileManager.default.contents(atPath: path),
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return ["training: no train-config.json"] }
    var lines = ["training (train-config.json):"]
    for key in object.keys.sorted() {
        let value = object[key]!
        if value is [Any] || value is [String: Any] { continue }
        lines.append("  \(key): \(value)")
    }
    return lines
}

/// 1234567 → "1,234,567".
private func grouped(_ value: Int) -> String {
    let digits = Array(String(value))
    var text = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { text.append(",") }
        text.append(digit)
    }
    return text
}

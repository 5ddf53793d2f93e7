import CLI
import Foundation
import Seq2Seq

/// `translate average`: the element-wise mean of several checkpoints' weights, as a model
/// directory (fairseq's `average_checkpoints.py`; averaging the last few checkpoints usually gains
/// a little BLEU over the last one).
let averageCommand = Command(
    name: "average",
    abstract: "Average the weights of the last N checkpoints of a training run into a model directory.",
    discussion: """
        Reads checkpoint_UPDATE.safetensors files (written by 'translate train', see --keep-last) from
        --save-dir, or the checkpoint files given as arguments, and writes --output as a model directory:
        the averaged model.safetensors with config.json and spm.model copied from --save-dir.
        --dtype f16 stores the weights in half precision: half the size, for shipping a model
        (decoding still computes in float32).
        """,
    options: [
        .value("--save-dir", valueName: "DIR", help: "The training run's directory (config.json, spm.model, checkpoints)."),
        .value("--last", valueName: "N", default: "5", help: "How many of the newest checkpoints to average."),
        .value("--output", "-o", valueName: "DIR", help: "The model directory to write (required)."),
        .value("--dtype", valueName: "TYPE", default: "f32", help: "Storage of the averaged weights: f32 or f16."),
    ],
    positionals: "[CHECKPOINT ...]", count: 0...1000
) { arguments in
    let saveDirectory = try arguments.required("--save-dir")
    let output = try arguments.required("--output")
    let last = try arguments.int("--last", default: 5, min: 1, max: 1000)
    let dtype = try arguments.choice("--dtype", default: "f32", from: ["f32", "f16"])
    let storage: SafeTensors.StorageType = dtype == "f16" ? .float16 : .float32
    var inputs = arguments.positionals
    if inputs.isEmpty {
        let available = TrainingCheckpoint.updateCheckpoints(in: saveDirectory)
        guard !available.isEmpty else {
            throw RuntimeError("\(saveDirectory): no checkpoint_UPDATE.safetensors files to average")
        }
        if available.count < last {
            writeStandardError("warning: \(saveDirectory) has \(available.count) checkpoints, fewer than --last \(last); averaging all\n")
        }
        inputs = available.suffix(last).map(\.path)
    }
    let average = try averageWeights(inputs)
    do {
        let model = try ModelDirectory.load(saveDirectory)
        try ModelDirectory.load(average, into: model, file: inputs.joined(separator: ", "))
        try ModelDirectory.save(model, to: output, storage: storage)
    } catch { throw RuntimeError("\(error)") }
    let spm = (saveDirectory as NSString).appendingPathComponent(ModelDirectory.sentencePieceFile)
    if FileManager.default.fileExists(atPath: spm) {
        try AtomicFile.write(
            try Data(contentsOf: URL(fileURLWithPath: spm)),
            to: (output as NSString).appendingPathComponent(ModelDirectory.sentencePieceFile))
    }
    writeStandardOutput("averaged \(inputs.count) checkpoints into \(output): \(inputs.map { ($0 as NSString).lastPathComponent }.joined(separator: " "))\n")
}

/// The element-wise mean of the float tensors of `paths` (optimizer moments, if any, left out).
/// - Throws: `RuntimeError` naming the file whose tensors do not match the first file's.
func averageWeights(_ paths: [String]) throws -> [String: Tensor] {
    var sum: [String: [Double]] = [:]
    var shapes: [String: [Int]] = [:]
    for (index, path) in paths.enumerated() {
        let tensors: [String: Tensor]
        do { tensors = try SafeTensors(contentsOf: path).floatTensors() } catch {
            throw RuntimeError("\(path): \(error.detail)")
        }
        let weights = tensors.filter { !$0.key.hasPrefix(TrainingCheckpoint.optimizerPrefix) }
        if index == 0 {
            for (name, tensor) in weights {
                shapes[name] = tensor.shape
                sum[name] = tensor.scalars.map(Double.init)
            }
            continue
        }
        guard Set(weights.keys) == Set(shapes.keys) else {
            throw RuntimeError("\(path): holds other tensors than \(paths[0]); checkpoints of different models?")
        }
        for (name, tensor) in weights {
            guard tensor.shape == shapes[name] else {
                throw RuntimeError("\(path): tensor '\(name)' has shape \(tensor.shape), but \(shapes[name]!) in \(paths[0])")
            }
            sum[name]!.withUnsafeMutableBufferPointer { s in
                for (i, value) in tensor.scalars.enumerated() { s[i] += Double(value) }
            }
        }
    }
    let count = Double(paths.count)
    return sum.reduce(into: [:]) { result, entry in
        result[entry.key] = Tensor(shape: shapes[entry.key]!, scalars: entry.value.map { Float($0 / count) })
    }
}

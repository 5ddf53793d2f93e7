import CLI
import Foundation
import Seq2Seq

/// Where a run stands: enough, with the parameters and the optimizer moments, to continue it
/// exactly. Every random choice of the run is a function of the seed and these counters (batch
/// order from `(seed, epoch)`, dropout from `(seed, update)`), so no generator state is stored.
struct TrainerState: Codable, Equatable {
    /// Updates done.
    var update = 0
    /// The epoch in progress, from 1.
    var epoch = 1
    /// Batches of the current epoch already consumed.
    var batchInEpoch = 0
    /// Training time so far, over every resumed run.
    var trainingSeconds = 0.0
    /// The best validation value so far (BLEU: higher is better; loss: lower), nil before any.
    var bestValidation: Double? = nil
    /// Validations in a row without improvement.
    var validationsWithoutImprovement = 0
}

/// `checkpoint_last.safetensors` and `checkpoint_best.safetensors` in the save directory: one
/// safetensors file holding the parameters under their model names, the Adam moments under
/// `optimizer.*`, and the trainer state as JSON in the metadata. One file, written atomically, so
/// a kill at any moment leaves the previous checkpoint whole.
enum TrainingCheckpoint {
    static let optimizerPrefix = "optimizer."
    static let stateKey = "trainer_state"

    static func write(model: EncoderDecoder, optimizer: Adam, state: TrainerState, to path: String) throws {
        var tensors = model.stateDictionary()
        for (name, tensor) in optimizer.state() { tensors[optimizerPrefix + name] = tensor }
        let stateJSON = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        let data = SafeTensors.encode(
            tensors, metadata: [stateKey: stateJSON, "optimizer_step": String(optimizer.step)])
        try AtomicFile.write(data, to: path)
    }

    /// Writes the weights alone as `checkpoint_UPDATE.safetensors` and removes the oldest such files
    /// beyond `keeping` (what `translate average` averages).
    static func keepWeights(of model: EncoderDecoder, update: Int, in directory: String, keeping: Int) throws {
        guard keeping > 0 else { return }
        let name = "checkpoint_\(update).safetensors"
        let data = SafeTensors.encode(model.stateDictionary(), metadata: ["format": "pt", "update": String(update)])
        try AtomicFile.write(data, to: (directory as NSString).appendingPathComponent(name))
        for old in updateCheckpoints(in: directory).dropLast(keeping) {
            try? FileManager.default.removeItem(atPath: old.path)
        }
    }

    /// The `checkpoint_UPDATE.safetensors` files of a save directory, oldest first.
    static func updateCheckpoints(in directory: String) -> [(update: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("checkpoint_"), name.hasSuffix(".safetensors"),
                let update = Int(name.dropFirst("checkpoint_".count).dropLast(".safetensors".count))
            else { return nil }
            return (update, (directory as NSString).appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }
    }

    /// Restores parameters, moments and state saved by `write`.
    /// - Throws: `RuntimeError` naming the file and what does not fit.
    static func read(from path: String, into model: EncoderDecoder, optimizer: Adam) throws -> TrainerState {
        let file: SafeTensors
        do { file = try SafeTensors(contentsOf: path) } catch {
            throw RuntimeError("\(path): cannot read the checkpoint: \(error)")
        }
        guard let stateJSON = file.metadata[stateKey],
            let state = try? JSONDecoder().decode(TrainerState.self, from: Data(stateJSON.utf8)),
            let optimizerStep = file.metadata["optimizer_step"].flatMap(Int.init)
        else { throw RuntimeError("\(path): not a training checkpoint (no trainer state)") }
        let tensors: [String: Tensor]
        do { tensors = try file.floatTensors() } catch { throw RuntimeError("\(path): \(error.detail)") }
        var weights: [String: Tensor] = [:]
        var moments: [String: Tensor] = [:]
        for (name, tensor) in tensors {
            if name.hasPrefix(optimizerPrefix) {
                moments[String(name.dropFirst(optimizerPrefix.count))] = tensor
            } else {
                weights[name] = tensor
            }
        }
        do { try ModelDirectory.load(weights, into: model, file: path) } catch {
            throw RuntimeError(error.description)
        }
        do { try optimizer.restore(moments, step: optimizerStep) } catch {
            throw RuntimeError("\(path): optimizer state: \(error)")
        }
        return state
    }
}

import CLI
import Foundation
import Seq2Seq
import TestSupport
import Testing

@testable import translate

@Suite("translate average", .serialized)
struct AverageCommandTests {
    @Test("averages the last N checkpoints element by element into a loadable model directory")
    func averages() throws {
        let folder = try TemporaryDirectory()
        let head = { (name: String) throws -> String in
            let text = try String(contentsOf: sharedData("multi30k/\(name)"), encoding: .utf8)
            return try folder.write(name, text.split(separator: "\n").prefix(300).joined(separator: "\n") + "\n")
        }
        let (en, de) = (try head("train.en"), try head("train.de"))
        let train = try runTool("translate", [
            "train", "--train", en, de, "--spm", sharedRoot.appendingPathComponent("reference/spm8k.model").path,
            "--save-dir", folder.path("run"), "--d-model", "32", "--attention-heads", "2", "--ffn-dim", "64",
            "--encoder-layers", "1", "--decoder-layers", "1", "--projection-length", "4", "--max-tokens", "512",
            "--validate-every", "1", "--max-updates", "4", "--keep-last", "3", "--warmup-updates", "1", "--lr", "0.01",
        ])
        #expect(train.status == 0, "\(train.standardError)")
        let kept = try FileManager.default.contentsOfDirectory(atPath: folder.path("run"))
            .filter { $0.hasPrefix("checkpoint_") && !$0.contains("last") && !$0.contains("best") }.sorted()
        #expect(kept == ["checkpoint_2.safetensors", "checkpoint_3.safetensors", "checkpoint_4.safetensors"])

        let result = try runTool("translate", ["average", "--save-dir", folder.path("run"), "--last", "2", "-o", folder.path("avg")])
        #expect(result.status == 0, "\(result.standardError)")
        let three = try SafeTensors(contentsOf: folder.path("run/checkpoint_3.safetensors")).floatTensors()
        let four = try SafeTensors(contentsOf: folder.path("run/checkpoint_4.safetensors")).floatTensors()
        let averaged = try SafeTensors(contentsOf: folder.path("avg/model.safetensors")).floatTensors()
        #expect(Set(averaged.keys) == Set(four.keys))
        var largestDifference: Float = 0, largestChange: Float = 0
        for (name, tensor) in averaged {
            for i in tensor.scalars.indices {
                let mean = (three[name]!.scalars[i] + four[name]!.scalars[i]) / 2
                largestDifference = max(largestDifference, abs(tensor.scalars[i] - mean))
                largestChange = max(largestChange, abs(three[name]!.scalars[i] - four[name]!.scalars[i]))
            }
        }
        #expect(largestChange > 1e-4)  // the two checkpoints really differ
        #expect(largestDifference < 1e-6)
        _ = try ModelDirectory.load(folder.path("avg"))
        #expect(FileManager.default.fileExists(atPath: folder.path("avg/spm.model")))

        // --dtype f16: half the bytes, each weight within half precision's rounding of the float32 mean.
        let half = try runTool("translate", [
            "average", "--save-dir", folder.path("run"), "--last", "2", "-o", folder.path("avg16"), "--dtype", "f16",
        ])
        #expect(half.status == 0, "\(half.standardError)")
        let halfFile = try SafeTensors(contentsOf: folder.path("avg16/model.safetensors"))
        #expect(Set(halfFile.entries.values.map(\.dtype)) == ["F16"])
        let size = { (path: String) throws -> Int in try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int }
        let ratio = Double(try size(folder.path("avg16/model.safetensors"))) / Double(try size(folder.path("avg/model.safetensors")))
        #expect(ratio > 0.49 && ratio < 0.52)
        var largestRelative: Float = 0
        for (name, tensor) in try halfFile.floatTensors() {
            for (value, full) in zip(tensor.scalars, averaged[name]!.scalars) where abs(full) > 1e-4 {
                largestRelative = max(largestRelative, abs(value - full) / abs(full))
            }
        }
        #expect(largestRelative > 0 && largestRelative <= 1.0 / 2048)  // unit roundoff of an 11-bit significand
        _ = try ModelDirectory.load(folder.path("avg16"))
        let badType = try runTool("translate", ["average", "--save-dir", folder.path("run"), "-o", folder.path("x"), "--dtype", "f8"])
        #expect(badType.status == 64)
        #expect(badType.standardError.contains("--dtype must be one of f32, f16, got 'f8'"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("x")))
    }

    @Test("no checkpoints, or checkpoints of different models, give one error line")
    func errors() throws {
        let folder = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: folder.path("empty"), withIntermediateDirectories: true)
        let none = try runTool("translate", ["average", "--save-dir", folder.path("empty"), "-o", folder.path("out")])
        #expect(none.status == 1)
        #expect(none.standardError == "error: \(folder.path("empty")): no checkpoint_UPDATE.safetensors files to average\n")
        let missing = try runTool("translate", ["average", "--save-dir", folder.path("empty"), "-o", folder.path("out"), "/nonexistent/c.safetensors"])
        #expect(missing.status == 1)
        #expect(missing.standardError.hasPrefix("error: /nonexistent/c.safetensors: cannot read"))  // the path once
        #expect(!FileManager.default.fileExists(atPath: folder.path("out")))
        let a = folder.path("a.safetensors"), b = folder.path("b.safetensors")
        try SafeTensors.write(["w": Tensor(zeros: [2])], to: a)
        try SafeTensors.write(["w": Tensor(zeros: [3])], to: b)
        #expect(throws: RuntimeError("\(b): tensor 'w' has shape [3], but [2] in \(a)")) { try averageWeights([a, b]) }
        let c = folder.path("c.safetensors")
        try SafeTensors.write(["v": Tensor(zeros: [2])], to: c)
        #expect(throws: RuntimeError("\(c): holds other tensors than \(a); checkpoints of different models?")) {
            try averageWeights([a, c])
        }
    }
}

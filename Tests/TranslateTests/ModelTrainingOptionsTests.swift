import CLI
import Foundation
import TestSupport
import Testing

@testable import translate

private let command = Command(name: "train", abstract: "", options: ModelTrainingOptions.options) { _ in }

private func resolve(_ arguments: [String]) throws -> ModelTrainingOptions {
    try ModelTrainingOptions.resolve(command.parse(arguments), parse: command.parse)
}

@Suite("translate train options: presets, config files, flags")
struct TrainingOptionsTests {
    @Test("flags set values; --train repeats for several pairs")
    func flags() throws {
        let options = try resolve([
            "--train", "a.en", "a.de", "--train", "b.en", "b.de", "--valid", "v.en", "v.de",
            "--save-dir", "out", "--arch", "transformer", "--max-tokens=2048", "--normalize-before",
        ])
        #expect(options.trainPairs == [["a.en", "a.de"], ["b.en", "b.de"]])
        #expect(options.validPair == ["v.en", "v.de"])
        #expect(options.arch == "transformer" && options.maxTokens == 2048 && options.normalizeBefore)
        #expect(options.modelDimension == 256 && options.learningRate == 1e-3)
    }

    @Test("a preset sets the shape and each flag overrides it")
    func presets() throws {
        let base = try resolve(["--preset", "base"])
        #expect(base.modelDimension == 512 && base.attentionHeads == 8 && base.ffnDimension == 2048)
        #expect(base.encoderLayers == 6 && base.decoderLayers == 6 && base.projectionLength == 32)
        let overridden = try resolve(["--preset", "base", "--encoder-layers", "2"])
        #expect(overridden.encoderLayers == 2 && overridden.decoderLayers == 6)
        #expect(throws: UsageError("--preset must be one of base, small, got 'huge'")) {
            try resolve(["--preset", "huge"])
        }
    }

    @Test("a config file sits between the preset and the flags")
    func configFile() throws {
        let folder = try TemporaryDirectory()
        let path = try folder.write(
            "cfg.json", #"{"d-model": 128, "attention-heads": 2, "train": [["x.en", "x.de"]], "normalize-before": true, "lr": 5e-4}"#)
        let options = try resolve(["--preset", "base", "--config", path, "--lr", "7e-4"])
        #expect(options.modelDimension == 128 && options.attentionHeads == 2)
        #expect(options.ffnDimension == 2048)  // from the preset
        #expect(options.trainPairs == [["x.en", "x.de"]] && options.normalizeBefore)
        #expect(options.learningRate == 7e-4)  // the flag wins
    }

    @Test("bad config values name the file and the key")
    func badConfig() throws {
        let folder = try TemporaryDirectory()
        let unknown = try folder.write("unknown.json", #"{"max-tokenz": 10}"#)
        #expect(throws: UsageError("\(unknown): unknown key 'max-tokenz'")) { try resolve(["--config", unknown]) }
        let range = try folder.write("range.json", #"{"max-tokens": 3}"#)
        #expect(throws: UsageError("\(range): --max-tokens must be an integer from 16 to 10000000, got '3'")) {
            try resolve(["--config", range])
        }
        let kind = try folder.write("kind.json", #"{"normalize-before": "yes"}"#)
        #expect(throws: UsageError("\(kind): 'normalize-before' must be true or false")) {
            try resolve(["--config", kind])
        }
        let notJSON = try folder.write("bad.json", "d-model = 3")
        #expect(throws: RuntimeError("\(notJSON): not a JSON object of flag values")) {
            try resolve(["--config", notJSON])
        }
        #expect(throws: RuntimeError("\(folder.path("none.json")): no such file")) {
            try resolve(["--config", folder.path("none.json")])
        }
    }

    @Test("flag errors name the flag and the allowed values")
    func flagErrors() throws {
        #expect(throws: UsageError("--train takes a source and a target file, got 3 file(s): a b c")) {
            try resolve(["--train", "a", "b", "c"])
        }
        #expect(throws: UsageError("--arch must be one of luna, transformer, got 'rnn'")) {
            try resolve(["--arch", "rnn"])
        }
        #expect(throws: UsageError("--dropout must be a number from 0.0 to 0.99, got '1.5'")) {
            try resolve(["--dropout", "1.5"])
        }
        #expect(throws: UsageError("--attention-heads 3 must divide --d-model 256")) {
            try resolve(["--train", "a", "b", "--save-dir", "s", "--attention-heads", "3"]).validate()
        }
        #expect(throws: UsageError("missing required option --save-dir")) {
            try resolve(["--train", "a", "b"]).validate()
        }
    }

    @Test("the effective config written back resolves to the same options")
    func roundTrip() throws {
        let original = try resolve([
            "--preset", "small", "--train", "a.en", "a.de", "--valid", "v.en", "v.de", "--save-dir", "s",
            "--arch", "transformer", "--pack-heads", "2", "--untie-kv", "--seed", "9", "--time-budget", "3600",
        ])
        let folder = try TemporaryDirectory()
        let data = try JSONSerialization.data(withJSONObject: original.configObject(), options: [.sortedKeys])
        let path = try folder.write("train-config.json", data)
        #expect(try resolve(["--config", path]) == original)
    }
}

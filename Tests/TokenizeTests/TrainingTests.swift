import Foundation
import TestSupport
import Testing
import Tokenize

/// Training through the shim must produce what Debian's `spm_train` produces with the same options,
/// keep the
/// toolkit's special ids, honour every option, and fail cleanly on bad input.
@Suite("Training")
struct TrainingTests {
    /// Files in `directory`, to prove that a failed run left nothing behind.
    static func files(in directory: TemporaryDirectory) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: directory.url.path))
    }

    @Test(
        "the .vocab equals spm_train's with the same options",
        arguments: TrainingOptions.ModelType.allCases)
    func sameAsSpmTrain(type: TrainingOptions.ModelType) throws {
        let tiny = try Fixtures.tinyModels()
        let directory = try TemporaryDirectory()
        var options = TrainingOptions()
        options.vocabularySize = 600
        options.modelType = type
        options.threads = 1
        try SentencePieceModel.train(
            inputs: tiny.inputs, modelPrefix: directory.path("ours"), options: options)
        _ = try Fixtures.spmTool(
            "spm_train",
            [
                "--input=\(tiny.inputs.joined(separator: ","))",
                "--model_prefix=\(directory.path("theirs"))",
                "--vocab_size=600", "--model_type=\(type.rawValue)", "--character_coverage=1.0",
                "--pad_id=0", "--unk_id=1", "--bos_id=2", "--eos_id=3", "--num_threads=1",
                "--minloglevel=2",
            ])
        let ours = try String(contentsOfFile: directory.path("ours.vocab"), encoding: .utf8)
        let theirs = try String(contentsOfFile: directory.path("theirs.vocab"), encoding: .utf8)
        #expect(ours == theirs)
        #expect(ours.split(separator: "\n").count == 600)
        // Only the two final files are left: the temporary prefix is gone.
        #expect(
            try Self.files(in: directory) == [
                "ours.model", "ours.vocab", "theirs.model", "theirs.vocab",
            ])
    }

    @Test("trained models have the toolkit's special ids and the exact vocabulary size")
    func specialIds() throws {
        let tiny = try Fixtures.tinyModels()
        for model in [tiny.unigram, tiny.bpe, tiny.byteFallback] {
            #expect(model.vocabularySize == 1000)
            #expect(model.specialIds == .toolkit)
            #expect(model.piece(for: 0) == "<pad>")
            #expect(model.piece(for: 1) == "<unk>")
            #expect(model.piece(for: 2) == "<s>")
            #expect(model.piece(for: 3) == "</s>")
            try model.verify(vocabularySize: 1000, specialIds: .toolkit)
        }
        #expect(tiny.byteFallback.piece(for: 4) == "<0x00>")
        #expect(tiny.byteFallback.kind(of: 4) == .byte)
        #expect(tiny.byteFallback.kind(of: 4 + 255) == .byte)
    }

    @Test("verify reports a vocabulary size or special-id mismatch")
    func verifyMismatch() throws {
        let model = try SentencePieceModel(contentsOf: Fixtures.referenceModel)
        try model.verify(vocabularySize: 8000, specialIds: .toolkit)
        #expect(
            throws: TokenizeError.modelMismatch(
                path: model.path, reason: "vocabulary size is 8000, the configuration says 8192")
        ) {
            try model.verify(vocabularySize: 8192, specialIds: .toolkit)
        }
        let sentencePieceDefault = SpecialIds(pad: nil, unk: 0, bos: 1, eos: 2)
        #expect(
            throws: TokenizeError.modelMismatch(
                path: model.path,
                reason:
                    "special ids are pad=0 unk=1 bos=2 eos=3, the configuration says pad=none unk=0 bos=1 eos=2"
            )
        ) {
            try model.verify(vocabularySize: 8000, specialIds: sentencePieceDefault)
        }
    }

    @Test(
        "user-defined symbols stay whole, control symbols are never matched, sampling a subset works"
    )
    func symbolsAndSampling() throws {
        let tiny = try Fixtures.tinyModels()
        let directory = try TemporaryDirectory()
        var options = TrainingOptions()
        options.vocabularySize = 500
        options.userDefinedSymbols = ["<sep>", "@@URL@@"]
        options.controlSymbols = ["<2de>"]
        options.inputSentenceSize = 1000
        options.seed = 7
        let model = try SentencePieceModel.train(
            inputs: tiny.inputs, modelPrefix: directory.path("symbols"), options: options)
        // User-defined symbols come right after the special ids, control ones too (spm_train's
        // order).
        let sep = model.id(for: "<sep>")
        let url = model.id(for: "@@URL@@")
        let toGerman = model.id(for: "<2de>")
        #expect(model.kind(of: toGerman) == .control)
        #expect(Set([sep, url, toGerman]) == Set([4, 5, 6]))
        let pieces = try model.encodeAsPieces("a dog<sep>ein Hund @@URL@@")
        #expect(pieces.contains("<sep>"))
        #expect(pieces.contains("@@URL@@"))
        #expect(!(try model.encode("<2de> Hund")).contains(toGerman))
        #expect(try model.decode([toGerman] + (try model.encode("Hund"))) == "Hund")
    }

    // MARK: - Bad input: one error each, nothing left behind

    @Test("a missing input file is named")
    func missingInput() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.path("nope.txt")
        #expect(throws: TokenizeError.fileNotFound(path: missing)) {
            try SentencePieceModel.train(inputs: [missing], modelPrefix: directory.path("m"))
        }
        #expect(try Self.files(in: directory).isEmpty)
    }

    @Test("an empty corpus is refused before SentencePiece sees it")
    func emptyCorpus() throws {
        let directory = try TemporaryDirectory()
        let empty = try directory.write("empty.txt", "")
        let blank = try directory.write("blank.txt", "\n  \n\t\n")
        #expect(throws: TokenizeError.emptyCorpus(files: [empty, blank])) {
            try SentencePieceModel.train(inputs: [empty, blank], modelPrefix: directory.path("m"))
        }
        #expect(try Self.files(in: directory) == ["empty.txt", "blank.txt"])
    }

    @Test("invalid UTF-8 is reported with its file and line")
    func invalidUTF8() throws {
        let directory = try TemporaryDirectory()
        let good = try directory.write("good.txt", "one\ntwo\n")
        var bytes = Data("first line\nsecond line\nbad ".utf8)
        bytes.append(contentsOf: [0xC3, 0x28])  // C3 must be followed by a continuation byte
        bytes.append(contentsOf: Data(" here\nfourth\n".utf8))
        let bad = try directory.write("bad.txt", bytes)
        let error = #expect(throws: TokenizeError.self) {
            try SentencePieceModel.train(inputs: [good, bad], modelPrefix: directory.path("m"))
        }
        #expect(error == .invalidUTF8(file: bad, line: 3, byteOffset: 4))
        #expect(error?.description == "\(bad):3: invalid UTF-8 at byte 4 of the line")
        #expect(try Self.files(in: directory) == ["good.txt", "bad.txt"])
    }

    @Test("a vocabulary the corpus cannot fill fails with SentencePiece's own one-line message")
    func vocabularyTooLarge() throws {
        let directory = try TemporaryDirectory()
        let lines = try Fixtures.lines("multi30k/train.en").prefix(200)
        let input = try directory.write("small.txt", lines.joined(separator: "\n") + "\n")
        var options = TrainingOptions()
        options.vocabularySize = 50_000
        let error = #expect(throws: TokenizeError.self) {
            try SentencePieceModel.train(
                inputs: [input], modelPrefix: directory.path("m"), options: options)
        }
        guard case .trainingFailed(let message) = error else {
            Issue.record("expected trainingFailed, got \(String(describing: error))")
            return
        }
        #expect(message.contains("Vocabulary size too high (50000). Please set it to a value <= "))
        #expect(!message.contains("\n"))
        #expect(try Self.files(in: directory) == ["small.txt"])
    }

    @Test("options SentencePiece would abort on are refused up front")
    func invalidOptions() throws {
        let tiny = try Fixtures.tinyModels()
        let directory = try TemporaryDirectory()
        var options = TrainingOptions()
        options.characterCoverage = 1.5
        #expect(throws: TokenizeError.self) {
            try SentencePieceModel.train(
                inputs: tiny.inputs, modelPrefix: directory.path("m"), options: options)
        }
        options = TrainingOptions()
        options.specialIds = SpecialIds(pad: 0, unk: 0, bos: 2, eos: 3)
        #expect(throws: TokenizeError.self) {
            try SentencePieceModel.train(
                inputs: tiny.inputs, modelPrefix: directory.path("m"), options: options)
        }
        #expect(throws: TokenizeError.fileNotFound(path: directory.path("no/such/dir"))) {
            try SentencePieceModel.train(
                inputs: tiny.inputs, modelPrefix: directory.path("no/such/dir/m"))
        }
        #expect(try Self.files(in: directory).isEmpty)
    }

    @Test(
        "joint EN+DE model on all of Multi30k train, vocabulary 8000", .tags(.slow),
        .enabled(if: slowTestsEnabled))
    func fullMulti30k() throws {
        let directory = try TemporaryDirectory()
        let inputs = [sharedData("multi30k/train.en").path, sharedData("multi30k/train.de").path]
        let model = try SentencePieceModel.train(inputs: inputs, modelPrefix: directory.path("spm"))
        #expect(model.vocabularySize == 8000)
        #expect(model.specialIds == .toolkit)
    }
}

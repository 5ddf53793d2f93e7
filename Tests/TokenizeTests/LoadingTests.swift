import Foundation
import TestSupport
import Testing
import Tokenize

@Suite("Loading models")
struct LoadingTests {
    @Test("a missing model file is named")
    func missing() {
        #expect(throws: TokenizeError.fileNotFound(path: "/nonexistent/spm.model")) {
            try SentencePieceModel(contentsOf: "/nonexistent/spm.model")
        }
        #expect(
            TokenizeError.fileNotFound(path: "/x/spm.model").description
                == "/x/spm.model: no such file")
    }

    @Test("a corrupt model file is refused with SentencePiece's reason, in one line")
    func corrupt() throws {
        let directory = try TemporaryDirectory()
        let text = try directory.write("text.model", "this is not a protobuf\n")
        let reference = try Data(contentsOf: URL(fileURLWithPath: Fixtures.referenceModel))
        let truncated = try directory.write(
            "truncated.model", reference.prefix(reference.count / 2))
        for path in [text, truncated] {
            let error = #expect(throws: TokenizeError.self) {
                try SentencePieceModel(contentsOf: path)
            }
            guard case .invalidModel(let named, let reason) = error else {
                Issue.record("expected invalidModel, got \(String(describing: error))")
                continue
            }
            #expect(named == path)
            #expect(!reason.isEmpty && !reason.contains("\n"))
        }
        #expect(throws: TokenizeError.self) {
            try SentencePieceModel(contentsOf: directory.url.path)
        }
    }

    @Test("loading from bytes gives the same model as loading the file")
    func fromBytes() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.referenceModel))
        let fromBytes = try SentencePieceModel(bytes: bytes, name: "spm8k")
        let fromFile = try SentencePieceModel(contentsOf: Fixtures.referenceModel)
        let line = "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche."
        #expect(try fromBytes.encode(line) == (try fromFile.encode(line)))
        #expect(fromBytes.path == "spm8k")
        #expect(throws: TokenizeError.self) {
            try SentencePieceModel(bytes: [1, 2, 3], name: "junk")
        }
    }
}

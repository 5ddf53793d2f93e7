import CLI
import Foundation
import TestSupport
import Testing
import Tokenize

@testable import translate

@Suite("Reading parallel corpora for training")
struct ParallelCorpusTests {
    @Test("different line counts name both files and both counts")
    func lineCounts() throws {
        let folder = try TemporaryDirectory()
        let en = try folder.write("a.en", "one\ntwo\nthree\n")
        let de = try folder.write("a.de", "eins\nzwei\n")
        #expect(
            throws: RuntimeError(
                "\(en) has 3 lines but \(de) has 2; parallel files must have one line per sentence pair")
        ) { try ParallelCorpus.load(source: en, target: de) }
    }

    @Test("missing, empty and invalid UTF-8 files each give one error naming the file")
    func badFiles() throws {
        let folder = try TemporaryDirectory()
        let good = try folder.write("good.en", "hello\n")
        let empty = try folder.write("empty.de", "")
        let broken = try folder.write("broken.de", Data("ok\n".utf8) + Data([0xFF, 0x0A]))
        #expect(throws: RuntimeError("\(empty): empty file")) { try ParallelCorpus.load(source: good, target: empty) }
        #expect(throws: RuntimeError("\(broken): line 2: invalid UTF-8")) {
            try ParallelCorpus.load(source: good, target: broken)
        }
        let missing = folder.path("missing.de")
        #expect(throws: RuntimeError("\(missing): no such file")) { try ParallelCorpus.load(source: good, target: missing) }
    }

    @Test("empty and overlong pairs are left out and counted in one warning")
    func filtering() throws {
        let model = try SentencePieceModel(
            contentsOf: sharedRoot.appendingPathComponent("reference/spm8k.model").path)
        let corpus = ParallelCorpus(
            source: ["A man is sleeping.", "", "Two dogs play in the snow.", "x y z"],
            target: ["Ein Mann schläft.", "Leer", "Zwei Hunde spielen im Schnee.", ""], name: "t.en + t.de")
        let all = try EncodedCorpus.encode(corpus, with: model, maxLength: 1000)
        #expect(all.kept == [0, 2] && all.emptyPairs == 2 && all.longPairs == 0)
        #expect(all.source[0] == (try model.encode("A man is sleeping.")))
        let longest = max(all.source[1].count, all.target[1].count)
        let short = try EncodedCorpus.encode(corpus, with: model, maxLength: longest - 1)
        #expect(short.kept == [0] && short.longPairs == 1)
        #expect(
            short.skippedWarning(corpusName: corpus.name, maxLength: longest - 1)
                == "warning: t.en + t.de: skipped 3 of 4 pairs (2 with an empty side, 1 longer than \(longest - 1) tokens)")
        #expect(try EncodedCorpus.encode(
            ParallelCorpus(source: ["a"], target: ["b"], name: "n"), with: model, maxLength: 10
        ).skippedWarning(corpusName: "n", maxLength: 10) == nil)
    }
}

import Foundation
import TestSupport
import Testing
import Tokenize

@Suite("Sentence splitting (ICU)")
struct SentenceSplitterTests {
    /// Cases worked out by hand from Unicode UAX #29's sentence rules and ICU's abbreviation lists.
    struct Case: Sendable, CustomStringConvertible {
        let locale: String
        let paragraph: String
        let sentences: [String]
        var description: String { "\(locale): \(paragraph)" }
    }

    static let cases: [Case] = [
        Case(
            locale: "en", paragraph: "It rained. We stayed in.",
            sentences: ["It rained.", "We stayed in."]),
        Case(locale: "en", paragraph: "Is it? Yes! Fine.", sentences: ["Is it?", "Yes!", "Fine."]),
        // The plain rules break after "Dr." before a capital (SB11).
        Case(
            locale: "en", paragraph: "Dr. Smith arrived. He sat down.",
            sentences: ["Dr.", "Smith arrived.", "He sat down."]),
        // A full stop followed by a lower-case word never ends a sentence (rule SB8).
        Case(
            locale: "en", paragraph: "The U.S. economy grew. Prices fell.",
            sentences: ["The U.S. economy grew.", "Prices fell."]),
        Case(
            locale: "en", paragraph: "He paid $3.50 for it. Cheap.",
            sentences: ["He paid $3.50 for it.", "Cheap."]),
        // "!" is an STerm: SB8's lower-case exception applies only to ".", so this breaks after the
        // quote (SB11).
        Case(
            locale: "en", paragraph: "\"Stop!\" she said. He did.",
            sentences: ["\"Stop!\"", "she said.", "He did."]),
        Case(
            locale: "de", paragraph: "Es regnet. Wir bleiben drinnen.",
            sentences: ["Es regnet.", "Wir bleiben drinnen."]),
        // "z." before the capital "B" breaks (SB11); "B." before a lower-case word does not (SB8).
        Case(
            locale: "de", paragraph: "Das gilt z. B. hier. Dort nicht.",
            sentences: ["Das gilt z.", "B. hier.", "Dort nicht."]),
        // An ordinal number before a capitalised word is split by the plain rules (SB11): ICU does
        // not know
        // "3. Oktober" is one phrase.
        Case(
            locale: "de", paragraph: "Am 3. Oktober ist Feiertag. Alle frei.",
            sentences: ["Am 3.", "Oktober ist Feiertag.", "Alle frei."]),
        Case(
            locale: "de", paragraph: "„Halt!“, rief sie. Er hielt.",
            sentences: ["„Halt!“, rief sie.", "Er hielt."]),
        Case(locale: "en", paragraph: "", sentences: []),
        Case(locale: "en", paragraph: "  \n ", sentences: []),
        Case(
            locale: "en", paragraph: "No full stop at the end",
            sentences: ["No full stop at the end"]),
    ]

    @Test("hand-worked paragraphs", arguments: cases)
    func handWorked(_ example: Case) throws {
        let sentences = try SentenceSplitter(locale: example.locale).split(example.paragraph)
        #expect(sentences.map(\.text) == example.sentences)
        if !sentences.isEmpty {
            #expect(sentences.map(\.description).joined() == example.paragraph)
        }
    }

    @Test("with ICU's abbreviation lists, Mr. does not end a sentence")
    func withSuppression() throws {
        let splitter = SentenceSplitter(locale: "en", suppressingAbbreviations: true)
        #expect(
            try splitter.split("Mr. Smith arrived. He sat.").map(\.text) == [
                "Mr. Smith arrived.", "He sat.",
            ])
        let plain = SentenceSplitter(locale: "en")
        #expect(
            try plain.split("Mr. Smith arrived. He sat.").map(\.text) == [
                "Mr.", "Smith arrived.", "He sat.",
            ])
    }

    @Test("separators are kept, so translations can be rejoined")
    func rejoin() throws {
        let paragraph = "  First one.  Second one!\nThird one? "
        let sentences = try SentenceSplitter(locale: "en").split(paragraph)
        #expect(
            sentences == [
                Sentence(leadingWhitespace: "  ", text: "First one.", trailingWhitespace: "  "),
                Sentence(text: "Second one!", trailingWhitespace: "\n"),
                Sentence(text: "Third one?", trailingWhitespace: " "),
            ])
        let rejoined = SentenceSplitter.rejoin(
            sentences, replacingTextsWith: ["Eins.", "Zwei!", "Drei?"])
        #expect(rejoined == "  Eins.  Zwei!\nDrei? ")
    }

    /// Joins runs of consecutive lines into paragraphs, splits them, and counts how many of the
    /// original
    /// line boundaries are sentence boundaries in the split (extra splits inside a line are
    /// allowed).
    ///
    /// Two figures: over all boundaries, and over boundaries after a line that ends like a sentence
    /// (., !, ?,
    /// …, or one of these followed by closing quotes or brackets). newstest has headlines without a
    /// full
    /// stop; joined with a space to the next line they are not sentence ends in any text, so no
    /// splitter can
    /// find them. The ≥ 95% bar applies to the second figure; the first is reported beside it.
    @Test(
        "real newstest paragraphs: at least 95% of line boundaries found",
        arguments: [
            ("wmt/newstest2014.en", "en"), ("wmt/newstest2014.de", "de"),
            ("wmt/newstest2013.en", "en"), ("wmt/newstest2013.de", "de"),
        ])
    func newstestBoundaries(file: String, locale: String) throws {
        let lines = try Fixtures.lines(file)
        let splitter = SentenceSplitter(locale: locale)
        let paragraphSize = 5
        var boundaries = 0
        var found = 0
        var extra = 0
        var punctuated = 0
        var punctuatedFound = 0
        for start in stride(from: 0, to: lines.count, by: paragraphSize) {
            let group = lines[start..<min(start + paragraphSize, lines.count)]
            let paragraph = group.joined(separator: " ")
            // UTF-8 offsets where each line after the first starts.
            var expected = Set<Int>()
            var endsLikeSentence = Set<Int>()
            var offset = 0
            for line in group.dropLast() {
                offset += line.utf8.count + 1
                expected.insert(offset)
                if Self.endsLikeSentence(line) { endsLikeSentence.insert(offset) }
            }
            var split = Set<Int>()
            var position = 0
            let sentences = try splitter.split(paragraph)
            for sentence in sentences.dropLast() {
                position += sentence.description.utf8.count
                split.insert(position)
            }
            #expect(sentences.map(\.description).joined() == paragraph)
            boundaries += expected.count
            found += expected.intersection(split).count
            extra += split.subtracting(expected).count
            punctuated += endsLikeSentence.count
            punctuatedFound += endsLikeSentence.intersection(split).count
        }
        let share = Double(found) / Double(boundaries)
        let punctuatedShare = Double(punctuatedFound) / Double(punctuated)
        print(
            "sentence boundaries \(file) (\(locale)): all \(found)/\(boundaries) = "
                + String(format: "%.2f%%", share * 100) + "; after sentence-final punctuation "
                + "\(punctuatedFound)/\(punctuated) = "
                + String(format: "%.2f%%", punctuatedShare * 100)
                + "; \(extra) extra splits inside lines")
        #expect(punctuatedShare >= 0.95)
        #expect(share >= 0.90)
    }

    /// Whether `line` ends with sentence-final punctuation, possibly followed by closing quotes or
    /// brackets.
    static func endsLikeSentence(_ line: String) -> Bool {
        let closers: Set<Character> = ["\"", "'", "”", "“", "’", "‘", "»", "«", ")", "]"]
        var trimmed = Substring(line)
        while let last = trimmed.last, closers.contains(last) || last.isWhitespace {
            trimmed = trimmed.dropLast()
        }
        guard let last = trimmed.last else { return false }
        return [".", "!", "?", "…"].contains(last)
    }
}

@Suite("TextBatch")
struct TextBatchTests {
    @Test(
        "lines split like std::getline: \\r kept, no phantom last line, unterminated last line kept"
    )
    func getlineSemantics() throws {
        #expect(try TextBatch(splitting: Array("a\nb\n".utf8), source: "x").lines == ["a", "b"])
        #expect(try TextBatch(splitting: Array("a\nb".utf8), source: "x").lines == ["a", "b"])
        #expect(try TextBatch(splitting: Array("a\r\n\n".utf8), source: "x").lines == ["a\r", ""])
        #expect(try TextBatch(splitting: Array("\n".utf8), source: "x").lines == [""])
        #expect(try TextBatch(splitting: [UInt8](), source: "x").count == 0)
    }

    /// Invalid sequences from the Unicode Standard's Table 3-7 and the line and byte each must be
    /// named at.
    static let invalid: [([UInt8], Int, Int)] = [
        ([0x61, 0x80], 1, 1),  // lone continuation byte
        ([0x0A, 0xC0, 0xAF], 2, 0),  // overlong "/"
        ([0x0A, 0x0A, 0x61, 0xE0, 0x80, 0xAF], 3, 1),  // overlong three-byte form
        ([0xED, 0xA0, 0x80], 1, 0),  // UTF-16 surrogate D800
        ([0xF4, 0x90, 0x80, 0x80], 1, 0),  // above U+10FFFF
        ([0xF5, 0x80, 0x80, 0x80], 1, 0),  // F5 never appears
        ([0x61, 0x62, 0xE2, 0x82], 1, 2),  // truncated at end of line
        ([0xE2, 0x82, 0x0A, 0x61], 1, 0),  // truncated by the newline
    ]

    @Test("invalid UTF-8 is named by line and byte", arguments: invalid)
    func invalidUTF8(bytes: [UInt8], line: Int, byte: Int) {
        #expect(throws: TokenizeError.invalidUTF8(file: "f.txt", line: line, byteOffset: byte)) {
            try TextBatch(splitting: bytes, source: "f.txt")
        }
    }

    @Test("valid multi-byte text passes and line numbers continue from firstLine")
    func validText() throws {
        let text = "Grüße 👋\n中文\n€\u{10FFFF}\n"
        #expect(
            try TextBatch(splitting: Array(text.utf8), source: "x").lines == [
                "Grüße 👋", "中文", "€\u{10FFFF}",
            ])
        #expect(throws: TokenizeError.invalidUTF8(file: "s", line: 11, byteOffset: 0)) {
            try TextBatch(splitting: [0x61, 0x0A, 0xFF], source: "s", firstLine: 10)
        }
    }
}

@Suite("Sampling and n-best")
struct SamplingTests {
    @Test("unigram samples are valid segmentations of the same text, and vary")
    func unigramSampling() throws {
        let model = try SentencePieceModel(contentsOf: Fixtures.referenceModel)
        SentencePieceModel.setRandomSeed(1234)
        let line = "Ein Mann mit einem orangefarbenen Hut starrt auf etwas."
        let best = try model.encode(line)
        var distinct = Set<[Int]>()
        for _ in 0..<200 {
            let sample = try model.sample(line, alpha: 0.1)
            #expect(try model.decode(sample) == line)
            distinct.insert(sample)
        }
        #expect(distinct.count > 5)
        // A large alpha (low temperature) concentrates nearly all mass on the best segmentation.
        let sharp = try (0..<20).map { _ in try model.sample(line, alpha: 50) }
        #expect(sharp.filter { $0 == best }.count >= 15)
        // Pieces and the batch form sample too.
        #expect(
            try model.decode(pieces: try model.samplePieces(line, alpha: 0.1, nBestSize: 8)) == line
        )
        let batch = try model.sample(TextBatch([line, line]), alpha: 0.1)
        #expect(batch.count == 2)
    }

    @Test("BPE-dropout with probability 0 is the plain segmentation; with 0.3 it still decodes")
    func bpeDropout() throws {
        let model = try Fixtures.tinyModels().bpe
        let line =
            "Two young guys with shaggy hair look at their hands while hanging out in the yard."
        #expect(try model.sample(line, alpha: 0) == (try model.encode(line)))
        for _ in 0..<20 {
            #expect(try model.decode(try model.sample(line, alpha: 0.3)) == line)
        }
    }

    @Test("n-best: distinct segmentations of the same text, best first")
    func nBest() throws {
        let model = try Fixtures.tinyModels().unigram
        let line = "A little girl climbing into a wooden playhouse."
        let hypotheses = try model.nBest(line, count: 5)
        #expect(hypotheses.count == 5)
        #expect(Set(hypotheses).count == 5)
        #expect(hypotheses[0] == (try model.encode(line)))
        for h in hypotheses { #expect(try model.decode(h) == line) }
        let pieces = try model.nBestPieces(line, count: 2)
        #expect(pieces[0] == (try model.encodeAsPieces(line)))
        #expect(throws: TokenizeError.self) { try model.nBest(line, count: 0) }
    }
}

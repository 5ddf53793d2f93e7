/// The ids of the four special pieces, fixed when a SentencePiece model is trained.
///
/// The toolkit's convention (`SpecialIds.toolkit`) is pad 0, unk 1, bos 2, eos 3, as in the
/// reference model
/// `shared/reference/spm8k.model`; SentencePiece's own default is unk 0, bos 1, eos 2 and no
/// padding. A model
/// directory's `config.json` records these ids, and loading checks them against the SentencePiece
/// model with
/// `SentencePieceModel.verify(vocabularySize:specialIds:)`. `nil` means the model has no such
/// piece.
public struct SpecialIds: Codable, Hashable, Sendable, CustomStringConvertible {
    /// Padding (`<pad>`), or nil.
    public var pad: Int?
    /// Unknown (`<unk>`); SentencePiece requires one.
    public var unk: Int
    /// Begin of sentence (`<s>`), or nil.
    public var bos: Int?
    /// End of sentence (`</s>`), or nil.
    public var eos: Int?

    /// Special ids as given.
    public init(pad: Int?, unk: Int, bos: Int?, eos: Int?) {
        self.pad = pad
        self.unk = unk
        self.bos = bos
        self.eos = eos
    }

    /// pad 0, unk 1, bos 2, eos 3: what `translate spm-train` uses and what the model expects.
    public static let toolkit = SpecialIds(pad: 0, unk: 1, bos: 2, eos: 3)

    /// `pad=0 unk=1 bos=2 eos=3`, with `none` for a missing piece.
    public var description: String {
        func show(_ id: Int?) -> String { id.map(String.init) ?? "none" }
        return "pad=\(show(pad)) unk=\(unk) bos=\(show(bos)) eos=\(show(eos))"
    }

    /// The SentencePiece trainer's spelling: -1 for none.
    var trainerOptions: [String: String] {
        [
            "pad_id": String(pad ?? -1), "unk_id": String(unk),
            "bos_id": String(bos ?? -1), "eos_id": String(eos ?? -1),
        ]
    }

    /// Checks that ids are distinct, non-negative and below `vocabularySize`.
    func validate(vocabularySize: Int) throws(TokenizeError) {
        let ids = [pad, unk, bos, eos].compactMap { $0 }
        if Set(ids).count != ids.count {
            throw .invalidOption(name: "special ids", reason: "ids must be distinct, got \(self)")
        }
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw .invalidOption(
                name: "special ids",
                reason: "id \(bad) is outside the vocabulary 0..<\(vocabularySize) (\(self))")
        }
    }
}

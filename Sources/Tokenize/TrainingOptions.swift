/// How `SentencePieceModel.train(inputs:modelPrefix:options:)` trains a model: SentencePiece's
/// trainer
/// options under Swift names, with the toolkit's defaults.
///
/// Defaults differ from `spm_train` where the toolkit needs it: special ids are
/// `SpecialIds.toolkit`
/// (pad 0, unk 1, bos 2, eos 3) and character coverage is 1.0 (Latin-script EN/DE has a small
/// alphabet).
public struct TrainingOptions: Sendable, Equatable {
    /// SentencePiece's segmentation algorithms that the toolkit supports.
    public enum ModelType: String, Sendable, CaseIterable {
        /// Unigram language model (Kudo 2018); supports n-best and lattice sampling.
        case unigram
        /// Byte-pair encoding (Sennrich et al. 2016); sampling is BPE-dropout.
        case bpe
    }

    /// The algorithm (`--model_type`).
    public var modelType: ModelType = .unigram
    /// Pieces in the vocabulary, special and user-defined ones included (`--vocab_size`).
    public var vocabularySize: Int = 8000
    /// Share of characters the model must cover, in (0, 1]; rarer ones map to unk
    /// (`--character_coverage`).
    public var characterCoverage: Double = 1.0
    /// Train on at most this many sentences, sampled from the input; 0 uses all
    /// (`--input_sentence_size`).
    public var inputSentenceSize: Int = 0
    /// Shuffle before sampling `inputSentenceSize` sentences (`--shuffle_input_sentence`).
    public var shuffleInputSentence: Bool = true
    /// Pieces always kept whole and matched in the input, e.g. tags (`--user_defined_symbols`).
    public var userDefinedSymbols: [String] = []
    /// Pieces that only the caller inserts by id, never matched in text (`--control_symbols`).
    public var controlSymbols: [String] = []
    /// Spell characters outside the vocabulary as UTF-8 byte pieces instead of unk
    /// (`--byte_fallback`).
    public var byteFallback: Bool = false
    /// Ids of pad, unk, bos and eos.
    public var specialIds: SpecialIds = .toolkit
    /// Longest sentence in bytes that training reads (`--max_sentence_length`).
    public var maxSentenceLength: Int = 4192
    /// Normalisation rule (`--normalization_rule_name`): `nmt_nfkc` (default), `nfkc`, `identity`,
    /// ….
    public var normalizationRule: String = "nmt_nfkc"
    /// Seed for SentencePiece's generator (sentence sampling); nil leaves it as it is.
    public var seed: UInt32? = nil
    /// Trainer threads; 0 means one per core.
    public var threads: Int = 0
    /// Print SentencePiece's training log to stderr.
    public var verbose: Bool = false

    /// The defaults above.
    public init() {}

    /// Checks the options that SentencePiece would otherwise reject by aborting the process.
    func validate() throws(TokenizeError) {
        if vocabularySize < 1 {
            throw .invalidOption(
                name: "vocab-size", reason: "must be positive, got \(vocabularySize)")
        }
        if !(characterCoverage > 0 && characterCoverage <= 1) {
            throw .invalidOption(
                name: "character-coverage", reason: "must be in (0, 1], got \(characterCoverage)")
        }
        if inputSentenceSize < 0 {
            throw .invalidOption(
                name: "input-sentence-size",
                reason: "must be 0 (all) or positive, got \(inputSentenceSize)")
        }
        if maxSentenceLength < 1 {
            throw .invalidOption(
                name: "max-sentence-length", reason: "must be positive, got \(maxSentenceLength)")
        }
        for symbol in userDefinedSymbols + controlSymbols
        where symbol.isEmpty || symbol.contains(",") {
            throw .invalidOption(
                name: "symbols",
                reason: "a symbol must be non-empty and without commas, got \"\(symbol)\"")
        }
        try specialIds.validate(vocabularySize: vocabularySize)
    }

    /// The trainer's key/value options, without input and model prefix.
    func trainerOptions(threadsAvailable: Int) -> [String: String] {
        var options = specialIds.trainerOptions
        options["model_type"] = modelType.rawValue
        options["vocab_size"] = String(vocabularySize)
        options["character_coverage"] = String(characterCoverage)
        options["input_sentence_size"] = String(inputSentenceSize)
        options["shuffle_input_sentence"] = String(shuffleInputSentence)
        options["byte_fallback"] = String(byteFallback)
        options["max_sentence_length"] = String(maxSentenceLength)
        options["normalization_rule_name"] = normalizationRule
        options["num_threads"] = String(threads > 0 ? threads : threadsAvailable)
        if !userDefinedSymbols.isEmpty {
            options["user_defined_symbols"] = userDefinedSymbols.joined(separator: ",")
        }
        if !controlSymbols.isEmpty {
            options["control_symbols"] = controlSymbols.joined(separator: ",")
        }
        return options
    }
}

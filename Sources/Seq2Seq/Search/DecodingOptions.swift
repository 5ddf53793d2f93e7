/// The knobs of beam search, with fairseq's meanings.
public struct DecodingOptions: Sendable, Equatable {
    /// Hypotheses kept per sentence; 1 is greedy search.
    public var beamSize: Int = 5
    /// Finished hypotheses are ranked by `Σ log p / length^lengthPenalty`, length counting EOS.
    public var lengthPenalty: Double = 1.0
    /// How many finished hypotheses to return per sentence, best first (at most `beamSize`).
    public var nBest: Int = 1
    /// An output has at most `⌊a · sourceLength + b⌋` tokens, EOS included, where the source
    /// length counts its EOS too.
    public var maxLengthA: Double = 1.2
    public var maxLengthB: Double = 10
    /// EOS is banned until the output has at least this many tokens (EOS not counted).
    public var minLength: Int = 0
    /// When > 0, no n-gram of this size occurs twice in an output.
    public var noRepeatNGramSize: Int = 0
    /// Subtracted from the unknown token's log-probability at every step.
    public var unknownPenalty: Float = 0

    public init() {}
}

/// Token ids the search treats specially.
public struct SpecialTokens: Sendable, Equatable {
    public var pad: Int
    public var unknown: Int
    public var bos: Int
    /// Ends every output; also the start symbol fed at the first step.
    public var eos: Int

    public init(pad: Int = 0, unknown: Int = 1, bos: Int = 2, eos: Int = 3) {
        self.pad = pad
        self.unknown = unknown
        self.bos = bos
        self.eos = eos
    }
}

/// One finished output of the search.
public struct Hypothesis: Sendable, Equatable {
    /// The output tokens, without the final EOS.
    public var tokens: [Int]
    /// `Σ log p` over the tokens and the final EOS.
    public var logProbability: Float
    /// The ranking score: `logProbability / (tokens.count + 1)^lengthPenalty`.
    public var score: Double

    public init(tokens: [Int], logProbability: Float, score: Double) {
        self.tokens = tokens
        self.logProbability = logProbability
        self.score = score
    }
}

/// What beam search sees of a model: next-token log-probabilities for a set of rows (hypotheses),
/// one step at a time, and a way to keep and reorder rows.
///
/// The search never touches model internals. A real model implements this over its encoder output
/// and its incremental decoder state (Luna's running sums, the Transformer's key/value cache);
/// tests implement it with scripted distributions.
public protocol IncrementalDecoder {
    /// Whatever the model carries from step to step for each row.
    associatedtype State

    /// Number of entries in each row of log-probabilities.
    var vocabularySize: Int { get }

    /// Encodes `sources` (token ids, each ending in EOS) and returns the state for
    /// `copies` rows per source, source-major: rows `s·copies ..< (s+1)·copies` belong to source `s`.
    func start(sources: [[Int]], copies: Int) -> State

    /// Feeds one token per row and returns the log-probabilities of the next token,
    /// `[rows, vocabularySize]` row-major, advancing the state by one step.
    ///
    /// The first call of a search feeds the start symbol (EOS) to every row.
    func step(tokens: [Int], state: inout State) -> [Float]

    /// ``step(tokens:state:)`` writing into storage the search keeps from step to step: either the
    /// log-probabilities or the logits, whose log-softmax the search then takes itself, fused with its
    /// selection of the best continuations (so the vocabulary-sized rows are read once more, not twice).
    ///
    /// The default implementation stores the result of ``step(tokens:state:)``.
    func step(tokens: [Int], state: inout State, scores: inout NextTokenScores)

    /// Keeps the rows `rows` of the state, in that order (rows may repeat: a hypothesis with two
    /// continuations is copied).
    func reorder(_ state: inout State, rows: [Int])
}

extension IncrementalDecoder {
    public func step(tokens: [Int], state: inout State, scores: inout NextTokenScores) {
        let values = step(tokens: tokens, state: &state)
        scores.values = values
        scores.rows = tokens.count
        scores.areLogProbabilities = true
    }
}

/// The next-token scores of one step, `[rows, V]` row-major: log-probabilities, or logits whose row-wise
/// log-softmax gives them (`log p = x − (max + ln Σ exp(x − max))`).
///
/// The search keeps one value for a whole search and the decoder overwrites it at each step, so the
/// storage is allocated once.
public struct NextTokenScores: Sendable {
    /// The scores, at least `rows · V` of them (extra capacity is left in place).
    public var values: [Float] = []
    /// Rows written by the last step.
    public var rows = 0
    /// Whether `values` are log-probabilities already (else logits).
    public var areLogProbabilities = true

    public init() {}

    /// Makes `values` hold at least `count` entries, without clearing them (a decoder overwrites them all).
    public mutating func reserve(_ count: Int) {
        if values.count < count {
            values = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        }
    }
}

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

    /// Keeps the rows `rows` of the state, in that order (rows may repeat: a hypothesis with two
    /// continuations is copied).
    func reorder(_ state: inout State, rows: [Int])
}

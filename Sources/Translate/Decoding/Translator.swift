// Translating token sequences in batches: sort by length, cut batches by sentences or tokens, search,
// restore input order. fairseq's `--batch-size`/`--max-tokens`, CTranslate2's sorted batches.
import Seq2Seq
import Tokenize

/// How sources are grouped for one search call.
struct BatchLimits: Sendable, Equatable {
    /// Most sentences in one batch.
    var sentences: Int = 32
    /// Most source tokens (EOS included, counted padded: sentences × longest) in one batch; nil: no limit.
    var tokens: Int? = nil

    /// Consecutive groups of `order` (indices sorted by length, shortest first) that respect both limits;
    /// a single over-long sentence still gets a batch of its own.
    func batches(of order: [Int], lengths: [Int]) -> [[Int]] {
        var batches: [[Int]] = []
        var current: [Int] = []
        var longest = 0
        for index in order {
            let length = lengths[index]
            let wouldBe = max(longest, length) * (current.count + 1)
            if !current.isEmpty, current.count >= sentences || (tokens.map { wouldBe > $0 } ?? false) {
                batches.append(current)
                current = []
                longest = 0
            }
            current.append(index)
            longest = max(longest, length)
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }
}

/// Beam search over many sources at once, in length-sorted batches, with results in input order.
///
/// Works on ids; ``TextTranslator`` adds SentencePiece, sentence splitting and length checks.
struct Translator {
    let model: EncoderDecoder
    let search: BeamSearch
    let limits: BatchLimits

    init(model: EncoderDecoder, options: DecodingOptions, limits: BatchLimits) {
        let c = model.configuration
        self.model = model
        self.search = BeamSearch(
            options: options, special: SpecialTokens(pad: c.padId, unknown: c.unknownId, bos: c.bosId, eos: c.eosId))
        self.limits = limits
    }

    /// Up to `nBest` hypotheses per source, best first, in the order of `sources`.
    ///
    /// - Parameters:
    ///   - sources: piece ids without EOS, short enough for the model (`count + 1 <= max_positions`); an
    ///     empty one is searched from EOS alone.
    ///   - batchDone: called after each batch with its number of sources (for progress reports).
    func translate(_ sources: [[Int]], batchDone: (Int) -> Void = { _ in }) -> [[Hypothesis]] {
        let eos = model.configuration.eosId
        let withEOS = sources.map { $0 + [eos] }
        // Stable: equal lengths keep input order, so the batches do not depend on the sort's whims.
        let order = withEOS.indices.sorted {
            withEOS[$0].count != withEOS[$1].count ? withEOS[$0].count < withEOS[$1].count : $0 < $1
        }
        var results = [[Hypothesis]](repeating: [], count: sources.count)
        for batch in limits.batches(of: order, lengths: withEOS.map(\.count)) {
            let found = search.search(model, sources: batch.map { withEOS[$0] })
            for (index, hypotheses) in zip(batch, found) { results[index] = hypotheses }
            batchDone(batch.count)
        }
        return results
    }
}

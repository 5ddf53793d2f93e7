/// Groups sentence pairs into training batches bounded by tokens, with length bucketing.
///
/// Pairs are ordered by (target length, source length), with ties broken by a seeded shuffle,
/// then cut into batches so that `sentences × longest padded length ≤ maxTokens`, where a pair's
/// length is `max(source, target) + 1` (its EOS). Neighbours in that order have similar lengths,
/// so little of a batch is padding. The batches of an epoch are then shuffled with the same seed.
/// Everything depends only on the lengths and the seed, so a resumed run rebuilds the same
/// batches from `(seed, epoch)` and skips to its position.
public struct TokenBatcher: Sendable {
    /// Upper bound on `sentences × longest length` per batch. A single pair longer than this
    /// still gets a batch of its own.
    public let maxTokens: Int
    /// Upper bound on sentences per batch.
    public let maxSentences: Int

    public init(maxTokens: Int, maxSentences: Int = 1024) {
        precondition(maxTokens > 0 && maxSentences > 0)
        self.maxTokens = maxTokens
        self.maxSentences = maxSentences
    }

    /// The batches of one pass over the data, as indices into the length arrays.
    ///
    /// - Parameters:
    ///   - sourceLengths, targetLengths: token counts per pair, without EOS.
    ///   - seed: ties in the length order and the batch order follow it.
    ///   - shuffle: `false` keeps the batches in length order (validation).
    public func batches(sourceLengths: [Int], targetLengths: [Int], seed: UInt64, shuffle: Bool = true)
        -> [[Int]]
    {
        precondition(sourceLengths.count == targetLengths.count)
        var generator = SplitMix64(seed: seed)
        var order = Array(sourceLengths.indices)
        order.shuffle(using: &generator)
        // A stable sort keeps the shuffled order among equal lengths.
        let keyed = order.enumerated().map { (rank: $0.offset, index: $0.element) }
            .sorted {
                let a = (targetLengths[$0.index], sourceLengths[$0.index], $0.rank)
                let b = (targetLengths[$1.index], sourceLengths[$1.index], $1.rank)
                return a < b
            }
        var batches: [[Int]] = []
        var current: [Int] = []
        var longest = 0
        for (_, index) in keyed {
            let length = max(sourceLengths[index], targetLengths[index]) + 1
            let grown = max(longest, length)
            if !current.isEmpty, grown * (current.count + 1) > maxTokens || current.count >= maxSentences {
                batches.append(current)
                current = []
                longest = 0
            }
            current.append(index)
            longest = max(longest, length)
        }
        if !current.isEmpty { batches.append(current) }
        if shuffle { batches.shuffle(using: &generator) }
        return batches
    }

    /// The seed of epoch `epoch` (from 1) of a run seeded with `seed`: every epoch gets its own
    /// order, reproducible from the two numbers alone.
    public static func epochSeed(runSeed seed: UInt64, epoch: Int) -> UInt64 {
        SplitMix64.mix(seed &* 1_000_003 &+ UInt64(epoch))
    }
}

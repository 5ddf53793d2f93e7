/// Computes one segment's BLEU statistics at a time, reusing its buffers; one per worker thread.
///
/// Tokens become integer ids (`TokenInterner`), an n-gram becomes a 128-bit key of up to four ids,
/// and a small open-addressing table (cleared by bumping a generation stamp) holds, per reference
/// n-gram, the largest count in any one reference. Clipping is counted incrementally: a hypothesis
/// occurrence matches while its running count is at most that maximum, which sums to
/// `min(h(g), max_k r_k(g))`.
struct BLEUCounter {
    let tokenizer: Tokenizer
    let lowercase: Bool
    private let workspace = TokenizerWorkspace()
    private var interner: TokenInterner
    private var hypothesisIDs: [UInt32] = []
    private var referenceIDs: [UInt32] = []
    private var referenceEnds: [Int] = []

    /// One slot of the n-gram table.
    private struct Entry {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var stamp: UInt32 = 0
        /// The largest count of this n-gram within one reference.
        var referenceMax: Int32 = 0
        /// Its count so far in the reference being read.
        var running: Int32 = 0
        var lastReference: Int32 = 0
        /// Its count so far in the hypothesis.
        var hypothesisCount: Int32 = 0
    }

    private var table: [Entry] = []
    private var generation: UInt32 = 0
    private var mask = 0

    /// - Parameter capacity: the distinct tokens expected (the tables grow as needed); small
    ///   for one sentence, large for a corpus.
    init(tokenizer: Tokenizer, lowercase: Bool, capacity: Int = 1 << 16) {
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        interner = TokenInterner(capacity: capacity)
        var size = 16
        while size < min(capacity, 1 << 12) { size <<= 1 }
        resizeTable(size)  // a power of two: slots are hash & mask
    }

    private mutating func resizeTable(_ size: Int) {
        table = [Entry](repeating: Entry(), count: size)
        generation = 0
        mask = size - 1
    }

    /// Lowercases (optionally), strips trailing whitespace, tokenizes and appends the token ids.
    mutating func appendIDs(of line: String, to ids: inout [UInt32]) {
        var text = lowercase ? PythonText.lowercase(line) : line
        let workspace = workspace
        let tokenizer = tokenizer
        text.withUTF8 { bytes in
            let end = PythonText.rstripEnd(bytes, 0, bytes.count)
            workspace.tokenize(UnsafeBufferPointer(rebasing: bytes[0..<end]), with: tokenizer)
        }
        let tokens = workspace.tokens
        let bytes = workspace.bytes.buffer
        for k in 0..<tokens.count {
            ids.append(interner.id(bytes, Int(tokens.starts[k]), Int(tokens.ends[k])))
        }
    }

    @inline(__always)
    private static func key(_ ids: UnsafeBufferPointer<UInt32>, _ i: Int, _ n: Int) -> (UInt64, UInt64) {
        let a = UInt64(ids[i])
        let b = n > 1 ? UInt64(ids[i + 1]) : 0
        let c = n > 2 ? UInt64(ids[i + 2]) : 0
        let d = n > 3 ? UInt64(ids[i + 3]) : 0
        return (a << 32 | b, c << 32 | d)
    }

    @inline(__always)
    private static func slot(_ high: UInt64, _ low: UInt64, _ mask: Int) -> Int {
        var h = high &* 0x9E37_79B9_7F4A_7C15 ^ low &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    /// Writes `[hyp_len, ref_len, correct 1–4, total 1–4]` for one segment to `out`.
    mutating func statistics<References: Collection<String>>(
        hypothesis: String, references: References, into out: UnsafeMutableBufferPointer<Int>
    ) {
        let order = NGramStatistics.maxOrder
        // Moved out while appending so that `appendIDs` may mutate `self`.
        var ids = hypothesisIDs
        hypothesisIDs = []
        ids.removeAll(keepingCapacity: true)
        appendIDs(of: hypothesis, to: &ids)
        hypothesisIDs = ids
        ids = referenceIDs
        referenceIDs = []
        ids.removeAll(keepingCapacity: true)
        referenceEnds.removeAll(keepingCapacity: true)
        for reference in references {
            appendIDs(of: reference, to: &ids)
            referenceEnds.append(ids.count)
        }
        referenceIDs = ids

        let needed = max(16, referenceIDs.count * order * 2)
        if needed > mask + 1 {
            var size = mask + 1
            while size < needed { size <<= 1 }
            resizeTable(size)
        }
        generation &+= 1
        if generation == 0 {
            resizeTable(mask + 1)
            generation = 1
        }
        let generation = generation
        let mask = mask
        let referenceEnds = referenceEnds
        let hypothesisLength = hypothesisIDs.count

        out[0] = hypothesisLength
        for n in 1...order {
            out[1 + n] = 0
            out[1 + order + n] = max(0, hypothesisLength - n + 1)
        }
        var closestLength = -1
        var closestDifference = -1
        table.withUnsafeMutableBufferPointer { table in
            // Reference n-grams: the largest count within any single reference.
            referenceIDs.withUnsafeBufferPointer { r in
                var start = 0
                for (k, end) in referenceEnds.enumerated() {
                    let length = end - start
                    let difference = abs(hypothesisLength - length)
                    if closestDifference < 0 || difference < closestDifference {
                        closestDifference = difference
                        closestLength = length
                    } else if difference == closestDifference && length < closestLength {
                        closestLength = length
                    }
                    let reference = Int32(k)
                    for n in 1...order where length >= n {
                        for i in start...(end - n) {
                            let (high, low) = Self.key(r, i, n)
                            var s = Self.slot(high, low, mask)
                            while table[s].stamp == generation && (table[s].high != high || table[s].low != low) {
                                s = (s + 1) & mask
                            }
                            if table[s].stamp != generation {
                                table[s] = Entry(
                                    high: high, low: low, stamp: generation, referenceMax: 0, running: 0,
                                    lastReference: reference, hypothesisCount: 0)
                            } else if table[s].lastReference != reference {
                                table[s].lastReference = reference
                                table[s].running = 0
                            }
                            table[s].running += 1
                            if table[s].running > table[s].referenceMax { table[s].referenceMax = table[s].running }
                        }
                    }
                    start = end
                }
            }
            // Hypothesis n-grams: clipped matches.
            hypothesisIDs.withUnsafeBufferPointer { h in
                for n in 1...order where hypothesisLength >= n {
                    var matches = 0
                    for i in 0...(hypothesisLength - n) {
                        let (high, low) = Self.key(h, i, n)
                        var s = Self.slot(high, low, mask)
                        while table[s].stamp == generation && (table[s].high != high || table[s].low != low) {
                            s = (s + 1) & mask
                        }
                        if table[s].stamp == generation {
                            table[s].hypothesisCount += 1
                            if table[s].hypothesisCount <= table[s].referenceMax { matches += 1 }
                        }
                    }
                    out[1 + n] = matches
                }
            }
        }
        out[1] = closestLength < 0 ? 0 : closestLength
    }
}

// What a decoder carries from one step to the next (luna.md §2.4), and row reordering for beam search.

/// The running state of one causal Luna layer for every row (hypothesis): O(L·d) per row, whatever the
/// number of tokens decoded.
///
/// Concretely, after t steps: `S^K = Σ_{s≤t} k_sᵀ α_s`, `S^V = Σ_{s≤t} α_sᵀ v_s` per head, unnormalised
/// (the 1/t is applied when reading them). All rows share t: beam hypotheses advance together.
public struct CausalLunaState: Sendable {
    /// S^K: `[B, H, d/H, L]` (empty before the first step).
    public private(set) var keySum: Tensor = Tensor(zeros: [0])
    /// S^V: `[B, H, L, d/H]`.
    public private(set) var valueSum: Tensor = Tensor(zeros: [0])
    /// t: tokens fed so far (the start symbol counts as step 1).
    public private(set) var steps = 0

    public init() {}

    /// Adds one step's outer products (same shapes as the sums) and counts the step.
    mutating func accumulate(keys: Tensor, values: Tensor) {
        if steps == 0 {
            keySum = keys
            valueSum = values
        } else {
            keySum = (Variable(keySum) + Variable(keys)).value
            valueSum = (Variable(valueSum) + Variable(values)).value
        }
        steps += 1
    }

    /// Keeps `rows` (indices into the current rows, repeats allowed), in that order.
    mutating func reorder(rows: [Int]) {
        guard steps > 0 else { return }
        keySum = keySum.gatheringRows(rows)
        valueSum = valueSum.gatheringRows(rows)
    }
}

/// A softmax self-attention key/value cache for one Transformer decoder layer: grows by one position per
/// step (2·t·d floats per row).
public struct KeyValueCache: Sendable {
    /// `[B, t, d]` each, or nil before the first step.
    public private(set) var keys: Tensor?
    public private(set) var values: Tensor?

    public init() {}

    /// Appends one step's keys and values (`[B, 1, d]`) and returns the whole cache.
    mutating func append(keys newKeys: Tensor, values newValues: Tensor) -> (keys: Tensor, values: Tensor) {
        if let keys, let values {
            self.keys = concatenate([Variable(keys), Variable(newKeys)], axis: 1).value
            self.values = concatenate([Variable(values), Variable(newValues)], axis: 1).value
        } else {
            keys = newKeys
            values = newValues
        }
        return (keys!, values!)
    }

    mutating func reorder(rows: [Int]) {
        keys = keys?.gatheringRows(rows)
        values = values?.gatheringRows(rows)
    }
}

extension Tensor {
    /// The sub-tensors `self[r]` along the first axis for each `r` in `rows`, stacked in that order.
    /// - Precondition: every row index is in range.
    func gatheringRows(_ rows: [Int]) -> Tensor {
        precondition(rank >= 1, "gatheringRows: scalar")
        let width = shape.dropFirst().reduce(1, *)
        var out = [Float](repeating: 0, count: rows.count * width)
        scalars.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for (i, row) in rows.enumerated() {
                    precondition(row >= 0 && row < shape[0], "gatheringRows: row \(row) of \(shape)")
                    for j in 0..<width { target[i * width + j] = source[row * width + j] }
                }
            }
        }
        return Tensor(shape: [rows.count] + shape.dropFirst(), scalars: out)
    }
}

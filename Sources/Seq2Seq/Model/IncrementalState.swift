// What a decoder carries from one step to the next (luna.md §2.4), and row reordering for beam search.

import Synchronization

/// Everything an ``EncoderDecoder`` carries from one decoding step to the next.
///
/// Source-derived tensors (the encoder output, Luna's Π and cross keys/values, the Transformer's cross
/// keys/values) are kept once per source sentence and shared by all of its rows (hypotheses): reordering
/// rows, or dropping a finished sentence, only rewrites the row → source map. The per-row memory is Luna's
/// running sums (O(L·d) per row, whatever the number of steps) or the Transformer's self-attention keys and
/// values (one position per row per step).
///
/// Reordering is lazy and copies nothing: Luna's sums are gathered by the next step as it adds that step's
/// terms (one pass over the sums instead of two), and the Transformer's keys and values stay where they
/// were written, each step's rows remembering the row of the previous step they continue, so attention
/// reads every position of a hypothesis's history in place.
public struct DecoderState {
    /// The encoder output, one row per source sentence (rows of the state index it through ``rowSources``).
    public internal(set) var encoder: EncoderOutput
    /// Tokens fed so far.
    public internal(set) var steps = 0
    /// The source (index into `start`'s sources) each row belongs to.
    public internal(set) var rowSources: [Int]
    /// The rows of the last step's memory that the current rows continue; nil when row i continues row i.
    var pendingRows: [Int]?
    /// Per-source tensors and fused weights, fixed for the whole search.
    let sources: DecoderSources
    /// The per-row memory, copied on write (a copied state stepped separately gets its own).
    var memory: DecoderMemory
    /// Temporaries of one step (shared by copies of the state: they hold nothing between steps).
    let scratch = DecoderScratch()

    init(encoder: EncoderOutput, sources: DecoderSources, copies: Int, layers: Int) {
        self.encoder = encoder
        self.sources = sources
        rowSources = encoder.sourceLengths.indices.flatMap { Array(repeating: $0, count: copies) }
        memory = DecoderMemory(layers: layers)
    }

    /// Number of rows.
    public var rowCount: Int { rowSources.count }

    /// Keeps `rows` (indices into the current rows, repeats allowed), in that order. Copies nothing: see
    /// the type's description.
    public mutating func reorder(rows: [Int]) {
        for row in rows { precondition(row >= 0 && row < rowCount, "reorder: row \(row) of \(rowCount)") }
        rowSources = rows.map { rowSources[$0] }
        guard steps > 0 else { return }
        pendingRows = pendingRows.map { pending in rows.map { pending[$0] } } ?? rows
    }

    /// The row of the last step's memory that each current row continues.
    func memoryRow(_ row: Int) -> Int { pendingRows?[row] ?? row }

    /// Luna: each layer's running sums for the current rows (a copy, for inspection).
    public var causalStates: [CausalLunaState] {
        guard memory.valueSums.count > 0, steps > 0 else {
            return Array(repeating: CausalLunaState(), count: memory.valueSums.count)
        }
        let rows = (0..<rowCount).map(memoryRow)
        return memory.valueSums.indices.map { layer in
            let values = Tensor(
                shape: memory.sumShape(keys: false), scalars: memory.valueSums[layer].array(memory.sumRows * memory.sumWidth))
            // Tied keys and values: S^K is S^V with each head's block transposed.
            let keys = memory.tiedSums
                ? Tensor(shape: memory.sumShape(keys: true), scalars: memory.transposedHeads(values.scalars))
                : Tensor(shape: memory.sumShape(keys: true), scalars: memory.keySums[layer].array(memory.sumRows * memory.sumWidth))
            return CausalLunaState(keySum: keys.gatheringRows(rows), valueSum: values.gatheringRows(rows), steps: steps)
        }
    }

    /// Transformer: each layer's self-attention keys and values for the current rows, `[rows, steps, d]`
    /// (a copy, for inspection).
    public var caches: [KeyValueCache] {
        memory.cachedKeys.indices.map { layer in
            guard steps > 0 else { return KeyValueCache() }
            let d = memory.cacheWidth
            var keys = [Float](repeating: 0, count: rowCount * steps * d)
            var values = keys
            for row in 0..<rowCount {
                let history = memory.history(row: memoryRow(row), steps: steps)
                for (position, arenaRow) in history.enumerated() {
                    for j in 0..<d {
                        keys[(row * steps + position) * d + j] = memory.cachedKeys[layer].pointer[arenaRow * d + j]
                        values[(row * steps + position) * d + j] = memory.cachedValues[layer].pointer[arenaRow * d + j]
                    }
                }
            }
            return KeyValueCache(
                keys: Tensor(shape: [rowCount, steps, d], scalars: keys),
                values: Tensor(shape: [rowCount, steps, d], scalars: values))
        }
    }
}

/// What the decoder reads from the sources at every step: per layer, per source sentence.
struct DecoderSources {
    /// Luna: Π per layer, `[S, H, L, d/H]` (already scaled).
    var packQueries: [Tensor] = []
    /// Cross-attention keys and values per layer, `[S, P, d]`: P = L (Luna's packed context) or N (softmax
    /// cross-attention over the encoder states).
    var crossKeys: [Tensor] = []
    var crossValues: [Tensor] = []
    /// P.
    var crossPositions = 0
    /// Positions of P that are not masked, per sentence.
    var crossLengths: [Int] = []
    /// Luna: L, and the unmasked slots of P per sentence (all L without dynamic projection).
    var slots = 0
    var packedLengths: [Int] = []
    /// The decoder's projections, fused and transposed (shared by all batches of one model).
    var weights: DecoderWeights!
}

/// A projection `x·Wᵀ + b` in the layout the decoder's products read: Wᵀ `[in, out]` (OpenBLAS packs it
/// faster than W when there are few rows) and the bias.
struct DecoderProjection {
    var transposedWeight: Tensor
    /// W in panels of eight outputs (``panelWeights(_:outputs:inputs:)``), for products with few rows.
    var panels: Tensor?
    /// Wᵀ packed in OpenBLAS's layout (``PackedWeight``), for products with many rows; nil without OpenBLAS's
    /// kernels.
    var packed: PackedWeight?
    var bias: Tensor?
    var inputs: Int
    var outputs: Int

    /// The projections stacked (outputs side by side) and transposed; a missing bias counts as zeros.
    init(_ projections: [Linear]) {
        let inputs = projections[0].inputDimension
        let outputs = projections.reduce(0) { $0 + $1.outputDimension }
        let stacked = projections.count == 1
            ? projections[0].weight.value.scalars : projections.flatMap(\.weight.value.scalars)
        var transposed = [Float](repeating: 0, count: inputs * outputs)
        stacked.withUnsafeBufferPointer { w in
            transposed.withUnsafeMutableBufferPointer { t in
                transposeMatrix(w.baseAddress!, rows: outputs, columns: inputs, into: t.baseAddress!)
            }
        }
        transposedWeight = Tensor(shape: [inputs, outputs], scalars: transposed)
        packed = transposed.withUnsafeBufferPointer { PackedWeight(transposed: $0.baseAddress!, inputs: inputs, outputs: outputs) }
        panels = outputs % 8 != 0 ? nil : stacked.withUnsafeBufferPointer { w in
            Tensor(shape: [outputs * inputs], scalars: panelWeights(w.baseAddress!, outputs: outputs, inputs: inputs))
        }
        if projections.count == 1 {
            bias = projections[0].bias?.value
        } else {
            bias = Tensor(
                shape: [outputs],
                scalars: projections.flatMap { $0.bias?.value.scalars ?? [Float](repeating: 0, count: $0.outputDimension) })
        }
        (self.inputs, self.outputs) = (inputs, outputs)
    }
}

/// One decoder layer's projections for incremental decoding.
struct DecoderLayerWeights {
    /// Self-attention inputs fused into one product: Luna `pc; q; c` (tied) or `pc; q; k; v`, the
    /// Transformer `q; k; v`.
    var selfInput: DecoderProjection
    var selfOutput: DecoderProjection
    var crossQuery: DecoderProjection
    var crossOutput: DecoderProjection
    var expand: DecoderProjection
    var contract: DecoderProjection
}

/// A model's decoder weights rearranged for incremental decoding (fused and transposed), built once per
/// model rather than once per batch: decoding one sentence at a time would otherwise spend a good part of
/// its time rearranging them.
final class DecoderWeights: Sendable {
    let layers: [DecoderLayerWeights]
    /// Eᵀ `[d, V]`, the output projection, and E in panels.
    let output: Tensor
    let outputPanels: Tensor?
    /// Eᵀ packed in OpenBLAS's layout (``PackedWeight``).
    let outputPacked: PackedWeight?
    /// The model tensors these were made from, held so that their storage stays alive and unchanged
    /// (copy-on-write): the same storage addresses then mean the same weights.
    private let sources: [Tensor]
    private let addresses: [UInt]

    init(layers: [DecoderLayerWeights], output: Tensor, outputPanels: Tensor?, sources: [Tensor]) {
        self.layers = layers
        self.output = output
        self.outputPanels = outputPanels
        outputPacked = output.withUnsafeBufferPointer { transposed in
            PackedWeight(transposed: transposed.baseAddress!, inputs: output.shape[0], outputs: output.shape[1])
        }
        self.sources = sources
        addresses = sources.map(DecoderWeights.address)
    }

    /// Whether these were made from exactly `tensors` (the same storage, so the same values).
    func wereMade(from tensors: [Tensor]) -> Bool {
        tensors.count == addresses.count && zip(tensors, addresses).allSatisfy { DecoderWeights.address($0) == $1 }
    }

    private static func address(_ tensor: Tensor) -> UInt {
        tensor.scalars.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    }

    /// The last model's rearranged weights (one model decodes many batches in a row).
    static let cache = Mutex<DecoderWeights?>(nil)
}

/// Growable storage of `Element`s behind a stable pointer (until the next ``reserve(_:keeping:)``).
final class DecodingBuffer<Element> {
    private(set) var pointer: UnsafeMutablePointer<Element>
    private(set) var capacity: Int

    init(capacity: Int = 0) {
        pointer = .allocate(capacity: max(capacity, 1))
        self.capacity = capacity
    }

    deinit { pointer.deallocate() }

    /// Makes room for `count` elements, keeping the first `keeping` (capacity grows by half at least, so a
    /// buffer grown step by step is copied O(log n) times).
    func reserve(_ count: Int, keeping: Int = 0) {
        guard count > capacity else { return }
        let grown = max(count, capacity + capacity / 2)
        let fresh = UnsafeMutablePointer<Element>.allocate(capacity: grown)
        if keeping > 0 { fresh.update(from: pointer, count: keeping) }
        pointer.deallocate()
        pointer = fresh
        capacity = grown
    }

    /// A copy of the first `count` elements.
    func copy(_ count: Int) -> DecodingBuffer {
        let copy = DecodingBuffer(capacity: count)
        if count > 0 { copy.pointer.update(from: pointer, count: count) }
        return copy
    }

    /// The first `count` elements as an array.
    func array(_ count: Int) -> [Element] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// The per-row memory of a decoder state (a class so that a step can work on raw pointers; the state
/// copies it before writing when it is shared).
final class DecoderMemory {
    // Luna: per layer S^K `[rows, H, d/H, L]` and S^V `[rows, H, L, d/H]`, with a spare pair that the next
    // step writes into when rows were reordered. With tied keys and values S^K = S^Vᵀ is not stored (the key
    // arrays stay empty).
    var tiedSums = false
    var keySums: [DecodingBuffer<Float>] = []
    var valueSums: [DecodingBuffer<Float>] = []
    var spareKeySums: [DecodingBuffer<Float>] = []
    var spareValueSums: [DecodingBuffer<Float>] = []
    /// Rows held by the sums, and H·(d/H)·L.
    var sumRows = 0
    var sumWidth = 0
    /// H, d/H, L (for shapes).
    var sumHeads = 0, sumHeadWidth = 0, sumSlots = 0

    // Transformer: per layer the keys and values of every row of every step, `[Σ rows, d]`, step after step.
    var cachedKeys: [DecodingBuffer<Float>] = []
    var cachedValues: [DecodingBuffer<Float>] = []
    var cacheWidth = 0
    /// Rows filled in the caches.
    var cachedRows = 0
    /// The cache row where each step's rows start.
    var stepStarts: [Int] = []
    /// For each cache row of a step after the first: the row (within the previous step) it continues.
    var parents: [Int32] = []

    init(layers: Int) {}

    /// A deep copy.
    func copy() -> DecoderMemory {
        let copy = DecoderMemory(layers: 0)
        let sums = sumRows * sumWidth
        copy.keySums = keySums.map { $0.copy(sums) }
        copy.valueSums = valueSums.map { $0.copy(sums) }
        copy.spareKeySums = spareKeySums.map { _ in DecodingBuffer() }
        copy.spareValueSums = spareValueSums.map { _ in DecodingBuffer() }
        (copy.tiedSums, copy.sumRows, copy.sumWidth) = (tiedSums, sumRows, sumWidth)
        (copy.sumHeads, copy.sumHeadWidth, copy.sumSlots) = (sumHeads, sumHeadWidth, sumSlots)
        let cached = cachedRows * cacheWidth
        copy.cachedKeys = cachedKeys.map { $0.copy(cached) }
        copy.cachedValues = cachedValues.map { $0.copy(cached) }
        (copy.cacheWidth, copy.cachedRows, copy.stepStarts, copy.parents) = (cacheWidth, cachedRows, stepStarts, parents)
        return copy
    }

    /// `[rows, H, d/H, L]` (keys) or `[rows, H, L, d/H]` (values).
    func sumShape(keys: Bool) -> [Int] {
        keys ? [sumRows, sumHeads, sumHeadWidth, sumSlots] : [sumRows, sumHeads, sumSlots, sumHeadWidth]
    }

    /// S^V `[rows, H, L, d/H]` → `[rows, H, d/H, L]`: each head's block transposed.
    func transposedHeads(_ values: [Float]) -> [Float] {
        var keys = values
        let block = sumSlots * sumHeadWidth
        for start in stride(from: 0, to: values.count, by: block) {
            for l in 0..<sumSlots {
                for j in 0..<sumHeadWidth { keys[start + j * sumSlots + l] = values[start + l * sumHeadWidth + j] }
            }
        }
        return keys
    }

    /// The cache rows of row `row` of the last of `steps` steps, from the first step to the last.
    func history(row: Int, steps: Int) -> [Int] {
        var rows = [Int](repeating: 0, count: steps)
        var index = row
        for step in stride(from: steps - 1, through: 0, by: -1) {
            rows[step] = stepStarts[step] + index
            if step > 0 { index = Int(parents[stepStarts[step] - stepStarts[1] + index]) }
        }
        return rows
    }
}

/// Temporaries of one decoding step, kept from step to step so that steps allocate nothing.
final class DecoderScratch {
    /// The running activation `[R, d]`, normed inputs `[R, d]`, two more `[R, d]`, and `[R, max(W, F)]`.
    let y = DecodingBuffer<Float>(), normed = DecodingBuffer<Float>()
    let first = DecodingBuffer<Float>(), second = DecodingBuffer<Float>()
    let wide = DecodingBuffer<Float>()
    /// LayerNorm's per-row statistics (unused at inference, but the kernel writes them).
    let mean = DecodingBuffer<Float>(), rstd = DecodingBuffer<Float>()
    /// Transformer: the cache row of every position of every row, `[R, t]`.
    let history = DecodingBuffer<Int32>()

    /// Makes room for `rows` rows of width `d`, wide rows of `wide`, and `positions` history entries per row.
    func prepare(rows: Int, width d: Int, wide wideWidth: Int, positions: Int) {
        for buffer in [y, normed, first, second] { buffer.reserve(rows * d) }
        wide.reserve(rows * wideWidth)
        mean.reserve(rows)
        rstd.reserve(rows)
        history.reserve(rows * positions)
    }
}

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

    init(keySum: Tensor, valueSum: Tensor, steps: Int) {
        self.keySum = keySum
        self.valueSum = valueSum
        self.steps = steps
    }

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

    init(keys: Tensor, values: Tensor) {
        self.keys = keys
        self.values = values
    }

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
                    (target.baseAddress! + i * width).update(from: source.baseAddress! + row * width, count: width)
                }
            }
        }
        return Tensor(shape: [rows.count] + shape.dropFirst(), scalars: out)
    }
}

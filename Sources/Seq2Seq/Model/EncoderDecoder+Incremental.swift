import Foundation
import Synchronization

// Incremental (step-by-step) decoding for beam search: luna.md §2.4; fairseq's `incremental_state`.
//
// A step runs on raw buffers: one product per projection for all rows of all sentences (split over threads
// by output columns), attention row by row over per-sentence keys, no allocation once the buffers have
// grown to the batch. The equations are those of `LunaDecoderLayer.step` and `TransformerDecoderLayer.step`
// (which remain the reference the parity tests compare against).

extension EncoderDecoder: IncrementalDecoder {
    public typealias State = DecoderState

    public var vocabularySize: Int { configuration.vocabularySize }

    /// Encodes the sources (each ending in EOS) as one right-padded batch and prepares `copies` rows per
    /// source, source-major.
    public func start(sources: [[Int]], copies: Int) -> DecoderState {
        precondition(copies >= 1 && !sources.isEmpty && sources.allSatisfy { !$0.isEmpty }, "start: empty input")
        let c = configuration
        // Even one sentence is encoded on all of BLAS's threads: its products (some 15 rows × 256 × 1,024)
        // are large enough to split, and OpenBLAS's workers no longer spin against the decoding steps
        // afterwards when `BLAS.letIdleWorkersSleep()` ran at start-up, as `translate` does. (Encoding on one
        // thread took a tenth of the calling thread's time in a beam-5 decode of single sentences.)
        let encoder = encode(TokenBatch(rows: sources, padId: c.padId), on: nil)
        var context = DecoderSources()
        if var p = encoder.projected {
            context.slots = p.shape[1]
            context.packedLengths = encoder.sourceLengths.map { c.dynamicProjection ? min($0, context.slots) : context.slots }
            for layer in lunaDecoderLayers {
                let source = layer.sourceContext(p: p, encoder: encoder)
                context.packQueries.append(source.packQuery.value)
                context.crossKeys.append(source.crossKeys.value)
                context.crossValues.append(source.crossValues.value)
                p = source.nextP
            }
            let softmaxCross = c.crossAttention == .softmax
            context.crossPositions = softmaxCross ? encoder.states.shape[1] : context.slots
            context.crossLengths = softmaxCross ? encoder.sourceLengths : context.packedLengths
        } else {
            for layer in transformerDecoderLayers {
                let (keys, values) = layer.crossKeysValues(encoder.states)
                context.crossKeys.append(keys.value)
                context.crossValues.append(values.value)
            }
            context.crossPositions = encoder.states.shape[1]
            context.crossLengths = encoder.sourceLengths
        }
        context.weights = decoderWeights()
        return DecoderState(encoder: encoder, sources: context, copies: copies, layers: c.decoderLayers)
    }

    /// Feeds one token per row (position `position_offset + steps`) and returns the next-token
    /// log-probabilities, `[rows, V]` row-major.
    public func step(tokens: [Int], state: inout DecoderState) -> [Float] {
        var scores = NextTokenScores()
        step(tokens: tokens, state: &state, scores: &scores)
        let v = configuration.vocabularySize
        var values = scores.values
        values.removeLast(values.count - tokens.count * v)
        values.withUnsafeMutableBufferPointer { values in
            let values = values.baseAddress!
            Parallel.forEachRange(tokens.count, work: tokens.count * v * 4) { range in
                for row in range {
                    let x = values + row * v
                    let shift = logSumExp(x, count: v)
                    for j in 0..<v { x[j] -= shift }
                }
            }
        }
        return values
    }

    /// ``step(tokens:state:)`` as a tensor, `[rows, V]`.
    public func logProbabilities(step tokens: [Int], state: inout DecoderState) -> Variable {
        Variable(Tensor(shape: [tokens.count, configuration.vocabularySize], scalars: step(tokens: tokens, state: &state)))
    }

    /// Feeds one token per row and writes the next-token logits `[rows, V]` into `scores` (the search takes
    /// their log-softmax).
    public func step(tokens: [Int], state: inout DecoderState, scores: inout NextTokenScores) {
        precondition(tokens.count == state.rowCount, "step: \(tokens.count) tokens for \(state.rowCount) rows")
        let v = configuration.vocabularySize
        for token in tokens { precondition(token >= 0 && token < v, "step: token \(token) outside the vocabulary \(v)") }
        // The products below are split over threads here; BLAS itself stays on one thread meanwhile.
        BLAS.withThreadCount(1) { stepOnOneBLASThread(tokens: tokens, state: &state, scores: &scores) }
    }

    private func stepOnOneBLASThread(tokens: [Int], state: inout DecoderState, scores: inout NextTokenScores) {
        let c = configuration
        let (rows, d, v) = (tokens.count, c.modelDimension, c.vocabularySize)
        if !isKnownUniquelyReferenced(&state.memory) { state.memory = state.memory.copy() }
        let wide = max(c.ffnDimension, state.sources.weights.layers.first?.selfInput.outputs ?? 0)
        state.scratch.prepare(rows: rows, width: d, wide: wide, positions: state.steps + 1)
        let y = state.scratch.y.pointer

        // y = √d·E[token] + S[position_offset + t]
        let position = Sinusoid.table(positions: (c.positionOffset + state.steps)..<(c.positionOffset + state.steps + 1), dimension: d)
        let scaleEmbedding = Float(d).squareRoot()
        embed_tokens.weight.value.withUnsafeBufferPointer { table in
            position.withUnsafeBufferPointer { position in
                for (row, token) in tokens.enumerated() {
                    let embedding = table.baseAddress! + token * d
                    for j in 0..<d { y[row * d + j] = embedding[j] * scaleEmbedding + position[j] }
                }
            }
        }

        state.steps += 1
        if lunaDecoderLayers.isEmpty {
            transformerStep(rows: rows, state: &state)
        } else {
            lunaStep(rows: rows, state: &state)
        }
        state.pendingRows = nil

        // logits = LN(y)·Eᵀ (pre-norm) or y·Eᵀ
        let input = decoderLayerNorm.map { norm in layerNormRows(norm, y, rows: rows, width: d, scratch: state.scratch) } ?? y
        scores.reserve(rows * v)
        scores.rows = rows
        scores.areLogProbabilities = false
        let weights = state.sources.weights!
        weights.output.withUnsafeBufferPointer { transposed in
            withPanels(weights.outputPanels) { panels in
                scores.values.withUnsafeMutableBufferPointer { logits in
                    decoderLinear(
                        input, rows: rows, inputs: d, weight: transposed.baseAddress!, transposed: true, panels: panels,
                        packed: weights.outputPacked, bias: nil, outputs: v, into: logits.baseAddress!)
                }
            }
        }
    }

    public func reorder(_ state: inout DecoderState, rows: [Int]) {
        state.reorder(rows: rows)
    }
}

// MARK: - Layers

extension EncoderDecoder {
    /// Luna decoder layers, one step (`LunaDecoderLayer.step`, `CausalLunaAttention.step`).
    private func lunaStep(rows: Int, state: inout DecoderState) {
        let c = configuration
        let d = c.modelDimension
        let scratch = state.scratch
        let (y, first, second, wide) = (scratch.y.pointer, scratch.first.pointer, scratch.second.pointer, scratch.wide.pointer)
        let memory = state.memory
        let (heads, headWidth, slots) = (c.attentionHeads, c.headDimension, state.sources.slots)
        let sumWidth = heads * headWidth * slots
        // Tied keys and values make S^K = S^Vᵀ (k_s = v_s, and k_j·α_l = α_l·v_j exactly): only S^V is kept,
        // which halves the memory the steps stream through.
        let tied = c.tieKeyValue
        if memory.valueSums.isEmpty {
            memory.tiedSums = tied
            for _ in lunaDecoderLayers.indices {
                memory.valueSums.append(DecodingBuffer())
                memory.spareValueSums.append(DecodingBuffer())
                if tied { continue }
                memory.keySums.append(DecodingBuffer())
                memory.spareKeySums.append(DecodingBuffer())
            }
            (memory.sumWidth, memory.sumHeads, memory.sumHeadWidth, memory.sumSlots) = (sumWidth, heads, headWidth, slots)
        }
        let firstStep = state.steps == 1
        // Write the new sums in place when every row continues its own row, else into the spare buffers.
        let inPlace = !firstStep && state.pendingRows == nil && memory.sumRows == rows
        let parents = (0..<rows).map { Int32(state.memoryRow($0)) }
        let t = Float(state.steps)
        let rowSources = state.rowSources
        let sources = state.sources
        precondition(lunaDecoderLayers.allSatisfy { tied == ($0.self_attn.c_proj != nil) }, "lunaStep: tie_kv disagrees with a layer")
        if lunaLayersByRows(
            rows: rows, memory: memory, inPlace: inPlace, firstStep: firstStep, parents: parents, steps: t,
            rowSources: rowSources, sources: sources, scratch: scratch)
        {
            memory.sumRows = rows
            return
        }

        for (i, layer) in lunaDecoderLayers.enumerated() {
            let pre = layer.normalizeBefore
            let weights = sources.weights.layers[i]
            let fusedWidth = weights.selfInput.outputs
            // Causal Luna self-attention.
            let input = pre ? layerNormRows(layer.self_attn_layer_norm, y, rows: rows, width: d, scratch: scratch) : y
            linearRows(input, rows: rows, weights.selfInput, into: wide)
            let sums = LunaSums(memory, layer: i, rows: rows, width: sumWidth, inPlace: inPlace)
            sources.packQueries[i].withUnsafeBufferPointer { packQuery in
                Parallel.forEachRange(rows, work: rows * sumWidth * (tied ? 2 : 4)) { range in
                    lunaSelfAttention(
                        range, layer: i, wide: wide, rowStride: fusedWidth, packQuery: packQuery.baseAddress!, sums: sums,
                        parents: parents, steps: t, firstStep: firstStep, rowSources: rowSources, sources: sources, into: first)
                }
            }
            if !inPlace {
                if !tied { swap(&memory.keySums[i], &memory.spareKeySums[i]) }
                swap(&memory.valueSums[i], &memory.spareValueSums[i])
            }
            linearRows(first, rows: rows, weights.selfOutput, into: second)
            residual(y, second, rows: rows, width: d, norm: pre ? nil : layer.self_attn_layer_norm, scratch: scratch)

            // Cross-attention: Luna's unpack over the packed context, or softmax attention over the encoder.
            let crossInput = pre ? layerNormRows(layer.encoder_attn_layer_norm, y, rows: rows, width: d, scratch: scratch) : y
            let (crossHeads, crossScale): (Int, Float)
            if let unpack = layer.encoder_attn {
                crossHeads = unpack.heads
                crossScale = 1 / Float(d / unpack.heads).squareRoot()
            } else {
                let softmax = layer.encoder_attn_softmax!
                (crossHeads, crossScale) = (softmax.headCount, softmax.scale)
            }
            linearRows(crossInput, rows: rows, weights.crossQuery, into: first)
            crossAttention(
                first, rows: rows, layer: i, heads: crossHeads, scale: crossScale, rowSources: rowSources, sources: sources,
                into: second)
            linearRows(second, rows: rows, weights.crossOutput, into: first)
            residual(y, first, rows: rows, width: d, norm: pre ? nil : layer.encoder_attn_layer_norm, scratch: scratch)

            feedForward(weights, norm: layer.final_layer_norm, pre: pre, rows: rows, scratch: scratch)
        }
        memory.sumRows = rows
    }

    /// Whether Luna steps may split their rows over the threads (``lunaLayersByRows``); tests turn it off to
    /// compare with the column split.
    static let splitsStepRows = Atomic<Bool>(true)
    /// Luna steps that ran with their rows split, for tests.
    static let rowSplitSteps = Atomic<Int>(0)

    /// The layers of ``lunaStep`` with the rows split over the threads instead of each product's columns: one
    /// parallel section per step instead of eight per layer, and every row's layer norms, residuals and
    /// attention run on the thread that owns the row. Returns false, having done nothing, when this does not
    /// apply (one thread, fewer than two groups of rows, no packed weights, or packed products that do not
    /// give OpenBLAS's bits).
    ///
    /// Same bits as the column split: each product runs OpenBLAS's kernel on the same column ranges as
    /// ``decoderLinear`` (``decoderColumnRanges(rows:inputs:outputs:)``), and a thread's rows start at a
    /// multiple of the driver's row chunk (3·UNROLL_N), so every row meets the kernel at the same place of
    /// its chunk as in one product over all rows (``PackedWeight/agreesWithOpenBLAS(transposed:)`` checks
    /// both on the first use of each weight). Everything else works row by row.
    private func lunaLayersByRows(
        rows: Int, memory: DecoderMemory, inPlace: Bool, firstStep: Bool, parents: [Int32], steps t: Float,
        rowSources: [Int], sources: DecoderSources, scratch: DecoderScratch
    ) -> Bool {
        guard Self.splitsStepRows.load(ordering: .relaxed), Parallel.threadCount > 1, let kernels = OpenBLASKernels.current
        else { return false }
        let group = 3 * kernels.unrollN
        guard rows >= 2 * group, rows <= kernels.r else { return false }
        let d = configuration.modelDimension
        let layerWeights = sources.weights.layers
        var packed: [[PackedWeight]] = []
        for weights in layerWeights {
            var layer: [PackedWeight] = []
            for projection in [weights.selfInput, weights.selfOutput, weights.crossQuery, weights.crossOutput, weights.expand, weights.contract] {
                guard let weight = projection.packed,
                    projection.transposedWeight.withUnsafeBufferPointer({ weight.agreesWithOpenBLAS(transposed: $0.baseAddress!) })
                else { return false }
                layer.append(weight)
            }
            packed.append(layer)
        }
        // Every tensor the layers read, held open for the whole section.
        var tensors: [Tensor] = []
        func add(_ tensor: Tensor?) -> Int? {
            guard let tensor else { return nil }
            tensors.append(tensor)
            return tensors.count - 1
        }
        struct Norm { let weight: Int, bias: Int, epsilon: Float }
        func add(_ norm: LayerNorm) -> Norm { Norm(weight: add(norm.weight.value)!, bias: add(norm.bias.value)!, epsilon: norm.epsilon) }
        struct Layer {
            let biases: [Int?]
            let selfNorm: Norm, crossNorm: Norm, finalNorm: Norm
            let packQuery: Int, crossKeys: Int, crossValues: Int
            let crossHeads: Int, crossScale: Float
            let sums: LunaSums
        }
        let sumWidth = memory.sumWidth
        let layers = lunaDecoderLayers.enumerated().map { i, layer in
            let weights = layerWeights[i]
            let (crossHeads, crossScale): (Int, Float)
            if let unpack = layer.encoder_attn {
                (crossHeads, crossScale) = (unpack.heads, 1 / Float(d / unpack.heads).squareRoot())
            } else {
                (crossHeads, crossScale) = (layer.encoder_attn_softmax!.headCount, layer.encoder_attn_softmax!.scale)
            }
            return Layer(
                biases: [weights.selfInput, weights.selfOutput, weights.crossQuery, weights.crossOutput, weights.expand, weights.contract]
                    .map { add($0.bias) },
                selfNorm: add(layer.self_attn_layer_norm), crossNorm: add(layer.encoder_attn_layer_norm),
                finalNorm: add(layer.final_layer_norm), packQuery: add(sources.packQueries[i])!,
                crossKeys: add(sources.crossKeys[i])!, crossValues: add(sources.crossValues[i])!, crossHeads: crossHeads,
                crossScale: crossScale, sums: LunaSums(memory, layer: i, rows: rows, width: sumWidth, inPlace: inPlace))
        }
        let (y, first, second, wide, normed) = (
            scratch.y.pointer, scratch.first.pointer, scratch.second.pointer, scratch.wide.pointer, scratch.normed.pointer
        )
        let (mean, rstd) = (scratch.mean.pointer, scratch.rstd.pointer)
        let positions = sources.crossPositions
        let wideStride = packed.flatMap { [$0[0].outputs, $0[4].outputs] }.max()!
        withBaseAddresses(tensors[...]) { pointers in
            let groups = (rows + group - 1) / group
            Parallel.forEachRange(groups, work: Int.max) { range in
                let rowRange = (range.lowerBound * group)..<min(range.upperBound * group, rows)
                let r0 = rowRange.lowerBound
                // LN of the rows of `x` into `out`, by pieces small enough that the kernel stays on this thread.
                func normalize(_ norm: Norm, _ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
                    var piece = r0
                    while piece < rowRange.upperBound {
                        let count = min(32, rowRange.upperBound - piece)
                        layerNormKernel(
                            out + piece * d, mean: mean + piece, rstd: rstd + piece, x + piece * d, weight: pointers[norm.weight],
                            bias: pointers[norm.bias], rows: count, columns: d, epsilon: norm.epsilon)
                        piece += count
                    }
                }
                // y += branch (pre-norm), or y = LN(y + branch) (`residual`).
                func residual(_ branch: UnsafeMutablePointer<Float>, norm: Norm?) {
                    let (start, end) = (r0 * d, rowRange.upperBound * d)
                    guard let norm else {
                        for j in start..<end { y[j] += branch[j] }
                        return
                    }
                    for j in start..<end { branch[j] += y[j] }
                    normalize(norm, branch, into: y)
                }
                // Rows of `wide` are `wideStride` apart whatever the product (the self-attention inputs and the
                // feed-forward's hidden layer differ in width), so that no thread's rows overlap another's.
                func product(
                    _ x: UnsafePointer<Float>, _ layer: Int, _ index: Int, into out: UnsafeMutablePointer<Float>,
                    relu: Bool = false
                ) {
                    let weight = packed[layer][index]
                    packedRowsProduct(
                        x, ldx: x == wide ? wideStride : weight.inputs, rows: rowRange, of: rows, weight: weight,
                        bias: layers[layer].biases[index].map { pointers[$0] }, into: out,
                        ldy: out == wide ? wideStride : weight.outputs, relu: relu)
                }
                withUnsafeTemporaryAllocation(of: Float.self, capacity: max(positions, 1)) { scores in
                    for (i, layer) in lunaDecoderLayers.enumerated() {
                        let plan = layers[i]
                        let pre = layer.normalizeBefore
                        // Causal Luna self-attention.
                        if pre { normalize(plan.selfNorm, y, into: normed) }
                        product(pre ? normed : y, i, 0, into: wide)
                        lunaSelfAttention(
                            rowRange, layer: i, wide: wide, rowStride: wideStride, packQuery: pointers[plan.packQuery],
                            sums: plan.sums, parents: parents, steps: t, firstStep: firstStep, rowSources: rowSources,
                            sources: sources, into: first)
                        product(first, i, 1, into: second)
                        residual(second, norm: pre ? nil : plan.selfNorm)
                        // Cross-attention.
                        if pre { normalize(plan.crossNorm, y, into: normed) }
                        product(pre ? normed : y, i, 2, into: first)
                        let (keys, values) = (pointers[plan.crossKeys], pointers[plan.crossValues])
                        for row in rowRange {
                            let source = rowSources[row]
                            let base = source * positions
                            attendRow(
                                query: first + row * d, heads: plan.crossHeads, headWidth: d / plan.crossHeads,
                                scale: plan.crossScale, count: sources.crossLengths[source], key: { keys + (base + $0) * d },
                                value: { values + (base + $0) * d }, scores: scores.baseAddress!, into: second + row * d)
                        }
                        product(second, i, 3, into: first)
                        residual(first, norm: pre ? nil : plan.crossNorm)
                        // Feed-forward.
                        if pre { normalize(plan.finalNorm, y, into: normed) }
                        product(pre ? normed : y, i, 4, into: wide, relu: true)
                        product(wide, i, 5, into: first)
                        residual(first, norm: pre ? nil : plan.finalNorm)
                    }
                }
            }
        }
        Self.rowSplitSteps.add(1, ordering: .relaxed)
        if !inPlace {
            for i in lunaDecoderLayers.indices {
                if !memory.tiedSums { swap(&memory.keySums[i], &memory.spareKeySums[i]) }
                swap(&memory.valueSums[i], &memory.spareValueSums[i])
            }
        }
        return true
    }

    /// Causal Luna self-attention of the rows `range` of layer `i` (`CausalLunaAttention.step`): reads the
    /// fused projections in `wide` (c; q; k or c; q; k; v per row, rows `rowStride` apart), updates the running sums
    /// and writes the attention output `[R, d]` into `first`.
    private func lunaSelfAttention(
        _ range: Range<Int>, layer i: Int, wide: UnsafeMutablePointer<Float>, rowStride: Int,
        packQuery: UnsafePointer<Float>, sums: LunaSums, parents: [Int32], steps t: Float, firstStep: Bool,
        rowSources: [Int], sources: DecoderSources, into first: UnsafeMutablePointer<Float>
    ) {
        let c = configuration
        let d = c.modelDimension
        let (heads, headWidth, slots, tied) = (c.attentionHeads, c.headDimension, sources.slots, c.tieKeyValue)
        let attention = lunaDecoderLayers[i].self_attn
        let (oldValues, newValues, oldKeys, newKeys) = (sums.oldValues, sums.newValues, sums.oldKeys, sums.newKeys)
        let scale = attention.scale(d)
        let softplusBeta = Float(Foundation.log(2.0))
        let activation = attention.activation
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * slots + headWidth) { buffer in
            let (alpha, e, scaledQuery) = (buffer.baseAddress!, buffer.baseAddress! + slots, buffer.baseAddress! + 2 * slots)
            for row in range {
                let source = rowSources[row]
                let valid = sources.packedLengths[source]
                let projected = wide + row * rowStride
                for h in 0..<heads {
                    let offset = h * headWidth
                    let cRow = projected + offset
                    let qRow = projected + d + offset
                    let kRow = projected + 2 * d + offset
                    let vRow = tied ? kRow : projected + 3 * d + offset
                    // α = w(c·Πᵀ) over the L slots.
                    let pi = packQuery + (source * heads + h) * slots * headWidth
                    for l in 0..<slots {
                        let z = dotProduct(cRow, pi + l * headWidth, count: headWidth)
                        switch activation {
                        case .softplus:
                            alpha[l] = softplusBeta * z > 20 ? z : Foundation.log1p(Foundation.exp(softplusBeta * z)) / softplusBeta
                        case .elu:
                            alpha[l] = (z > 0 ? z : Foundation.expm1(z)) + 1
                        }
                    }
                    // S^V += αᵀv ([L, d/H]) and, untied, S^K += kᵀα ([d/H, L]), reading the sums of the
                    // row continued.
                    let head = (row * heads + h) * headWidth * slots
                    let oldHead = (Int(parents[row]) * heads + h) * headWidth * slots
                    let valueSum = newValues + head
                    addOuterProduct(
                        alpha, rows: slots, vRow, columns: headWidth,
                        to: firstStep ? nil : oldValues + oldHead, into: valueSum)
                    // e = (s·q)·S^K / t, π = softmax over the unmasked slots, o = π·S^V / t.
                    if tied {
                        for j in 0..<headWidth { scaledQuery[j] = qRow[j] * scale }
                        transposedProduct(valueSum, rows: slots, width: headWidth, scaledQuery, into: e)
                    } else {
                        let keySum = newKeys + head
                        addOuterProduct(
                            kRow, rows: headWidth, alpha, columns: slots,
                            to: firstStep ? nil : oldKeys + oldHead, into: keySum)
                        for l in 0..<slots { e[l] = 0 }
                        for j in 0..<headWidth { multiplyAdd(qRow[j] * scale, keySum + j * slots, into: e, count: slots) }
                    }
                    var maximum = -Float.infinity
                    for l in 0..<valid {
                        e[l] *= 1 / t
                        maximum = max(maximum, e[l])
                    }
                    var total: Float = 0
                    for l in 0..<valid {
                        e[l] = fastExp(e[l] - maximum)
                        total += e[l]
                    }
                    let inverse = 1 / total
                    let o = first + row * d + offset
                    for j in 0..<headWidth { o[j] = 0 }
                    for l in 0..<valid { multiplyAdd(e[l] * inverse, valueSum + l * headWidth, into: o, count: headWidth) }
                    for j in 0..<headWidth { o[j] *= 1 / t }
                }
            }
        }
    }

    /// Transformer decoder layers, one step (`TransformerDecoderLayer.step`).
    private func transformerStep(rows: Int, state: inout DecoderState) {
        let c = configuration
        let d = c.modelDimension
        let scratch = state.scratch
        let (y, first, second, wide) = (scratch.y.pointer, scratch.first.pointer, scratch.second.pointer, scratch.wide.pointer)
        let memory = state.memory
        if memory.cachedKeys.isEmpty {
            for _ in transformerDecoderLayers.indices {
                memory.cachedKeys.append(DecodingBuffer())
                memory.cachedValues.append(DecodingBuffer())
            }
            memory.cacheWidth = d
        }
        // This step's rows go to the caches after the previous steps' rows; each remembers its parent.
        let t = state.steps
        let start = memory.cachedRows
        memory.stepStarts.append(start)
        if t > 1 { memory.parents += (0..<rows).map { Int32(state.memoryRow($0)) } }
        memory.cachedRows += rows
        // The cache row of every position of every row (shared by the layers).
        let history = scratch.history.pointer
        for row in 0..<rows {
            var index = row
            for step in stride(from: t - 1, through: 0, by: -1) {
                history[row * t + step] = Int32(memory.stepStarts[step] + index)
                if step > 0 { index = Int(memory.parents[memory.stepStarts[step] - memory.stepStarts[1] + index]) }
            }
        }
        let rowSources = state.rowSources
        let sources = state.sources

        for (i, layer) in transformerDecoderLayers.enumerated() {
            let pre = layer.normalizeBefore
            let attention = layer.self_attn
            let weights = sources.weights.layers[i]
            memory.cachedKeys[i].reserve(memory.cachedRows * d, keeping: start * d)
            memory.cachedValues[i].reserve(memory.cachedRows * d, keeping: start * d)
            let (keys, values) = (memory.cachedKeys[i].pointer, memory.cachedValues[i].pointer)
            // Self-attention: q, k, v in one product; k and v join the caches; q attends over the row's history.
            let input = pre ? layerNormRows(layer.self_attn_layer_norm, y, rows: rows, width: d, scratch: scratch) : y
            linearRows(input, rows: rows, weights.selfInput, into: wide)
            for row in 0..<rows {
                (keys + (start + row) * d).update(from: wide + row * 3 * d + d, count: d)
                (values + (start + row) * d).update(from: wide + row * 3 * d + 2 * d, count: d)
            }
            let scale = attention.scale
            let heads = attention.headCount
            Parallel.forEachRange(rows, work: rows * t * d * 4) { range in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: t) { scores in
                    for row in range {
                        let positions = history + row * t
                        attendRow(
                            query: wide + row * 3 * d, heads: heads, headWidth: d / heads, scale: scale, count: t,
                            key: { UnsafePointer(keys + Int(positions[$0]) * d) },
                            value: { UnsafePointer(values + Int(positions[$0]) * d) },
                            scores: scores.baseAddress!, into: first + row * d)
                    }
                }
            }
            linearRows(first, rows: rows, weights.selfOutput, into: second)
            residual(y, second, rows: rows, width: d, norm: pre ? nil : layer.self_attn_layer_norm, scratch: scratch)

            // Cross-attention over the encoder states.
            let cross = layer.encoder_attn
            let crossInput = pre ? layerNormRows(layer.encoder_attn_layer_norm, y, rows: rows, width: d, scratch: scratch) : y
            linearRows(crossInput, rows: rows, weights.crossQuery, into: first)
            crossAttention(
                first, rows: rows, layer: i, heads: cross.headCount, scale: cross.scale, rowSources: rowSources,
                sources: sources, into: second)
            linearRows(second, rows: rows, weights.crossOutput, into: first)
            residual(y, first, rows: rows, width: d, norm: pre ? nil : layer.encoder_attn_layer_norm, scratch: scratch)

            feedForward(weights, norm: layer.final_layer_norm, pre: pre, rows: rows, scratch: scratch)
        }
    }

    /// Softmax attention of each row's query `[R, d]` over the cross keys and values of its sentence
    /// (`[P, d]`, the first `crossLengths[s]` positions unmasked), into `out` `[R, d]`.
    private func crossAttention(
        _ query: UnsafeMutablePointer<Float>, rows: Int, layer: Int, heads: Int, scale: Float, rowSources: [Int],
        sources: DecoderSources, into out: UnsafeMutablePointer<Float>
    ) {
        let d = configuration.modelDimension
        let positions = sources.crossPositions
        sources.crossKeys[layer].withUnsafeBufferPointer { keys in
            sources.crossValues[layer].withUnsafeBufferPointer { values in
                let (keys, values) = (keys.baseAddress!, values.baseAddress!)
                Parallel.forEachRange(rows, work: rows * positions * d * 4) { range in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: positions) { scores in
                        for row in range {
                            let source = rowSources[row]
                            let base = source * positions
                            attendRow(
                                query: query + row * d, heads: heads, headWidth: d / heads, scale: scale,
                                count: sources.crossLengths[source], key: { keys + (base + $0) * d },
                                value: { values + (base + $0) * d }, scores: scores.baseAddress!, into: out + row * d)
                        }
                    }
                }
            }
        }
    }

    /// The feed-forward block on `y` in place: `y += FFN(LN(y))` (pre-norm) or `y = LN(y + FFN(y))`.
    private func feedForward(_ weights: DecoderLayerWeights, norm: LayerNorm, pre: Bool, rows: Int, scratch: DecoderScratch) {
        let d = configuration.modelDimension
        let (y, first, wide) = (scratch.y.pointer, scratch.first.pointer, scratch.wide.pointer)
        let input = pre ? layerNormRows(norm, y, rows: rows, width: d, scratch: scratch) : y
        linearRows(input, rows: rows, weights.expand, into: wide, relu: true)
        linearRows(wide, rows: rows, weights.contract, into: first)
        residual(y, first, rows: rows, width: d, norm: pre ? nil : norm, scratch: scratch)
    }

    /// `y += branch` (pre-norm), or `y = LN(y + branch)` (post-norm); `branch` is overwritten.
    private func residual(
        _ y: UnsafeMutablePointer<Float>, _ branch: UnsafeMutablePointer<Float>, rows: Int, width: Int, norm: LayerNorm?,
        scratch: DecoderScratch
    ) {
        let count = rows * width
        guard let norm else {
            for j in 0..<count { y[j] += branch[j] }
            return
        }
        for j in 0..<count { branch[j] += y[j] }
        norm.weight.value.withUnsafeBufferPointer { weight in
            norm.bias.value.withUnsafeBufferPointer { bias in
                layerNormKernel(
                    y, mean: scratch.mean.pointer, rstd: scratch.rstd.pointer, branch, weight: weight.baseAddress!,
                    bias: bias.baseAddress!, rows: rows, columns: width, epsilon: norm.epsilon)
            }
        }
    }

    /// `LN(x)` of `rows` rows into the scratch's `normed` buffer, which it returns.
    private func layerNormRows(
        _ norm: LayerNorm, _ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, scratch: DecoderScratch
    ) -> UnsafeMutablePointer<Float> {
        let out = scratch.normed.pointer
        norm.weight.value.withUnsafeBufferPointer { weight in
            norm.bias.value.withUnsafeBufferPointer { bias in
                layerNormKernel(
                    out, mean: scratch.mean.pointer, rstd: scratch.rstd.pointer, x, weight: weight.baseAddress!,
                    bias: bias.baseAddress!, rows: rows, columns: width, epsilon: norm.epsilon)
            }
        }
        return out
    }

    /// `out = x·Wᵀ + b` for all rows, or `max(x·Wᵀ + b, 0)` with `relu` (``decoderLinear``).
    private func linearRows(
        _ x: UnsafeMutablePointer<Float>, rows: Int, _ projection: DecoderProjection, into out: UnsafeMutablePointer<Float>,
        relu: Bool = false
    ) {
        projection.transposedWeight.withUnsafeBufferPointer { w in
            withPanels(projection.panels) { panels in
                if let bias = projection.bias {
                    bias.withUnsafeBufferPointer { b in
                        decoderLinear(
                            x, rows: rows, inputs: projection.inputs, weight: w.baseAddress!, transposed: true,
                            panels: panels, packed: projection.packed, bias: b.baseAddress!, outputs: projection.outputs,
                            into: out, relu: relu)
                    }
                } else {
                    decoderLinear(
                        x, rows: rows, inputs: projection.inputs, weight: w.baseAddress!, transposed: true,
                        panels: panels, packed: projection.packed, bias: nil, outputs: projection.outputs, into: out,
                        relu: relu)
                }
            }
        }
    }

    /// `body` with a pointer to the panels, or nil.
    private func withPanels<R>(_ panels: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let panels else { return body(nil) }
        return panels.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Every decoder projection, grouped as ``DecoderLayerWeights`` will hold them, per layer.
    private var decoderProjections: [[[Linear]]] {
        if !lunaDecoderLayers.isEmpty {
            return lunaDecoderLayers.map { layer in
                let a = layer.self_attn
                let (query, output): (Linear, Linear)
                if let unpack = layer.encoder_attn {
                    (query, output) = (unpack.q_proj, unpack.out_proj)
                } else {
                    (query, output) = (layer.encoder_attn_softmax!.query, layer.encoder_attn_softmax!.output)
                }
                return [
                    [a.pc_proj, a.q_proj] + (a.c_proj.map { [$0] } ?? [a.k_proj!, a.v_proj!]), [a.out_proj], [query],
                    [output], [layer.feedForward.expand], [layer.feedForward.contract],
                ]
            }
        }
        return transformerDecoderLayers.map { layer in
            let (a, cross) = (layer.self_attn, layer.encoder_attn)
            return [
                [a.query, a.key, a.value], [a.output], [cross.query], [cross.output], [layer.feedForward.expand],
                [layer.feedForward.contract],
            ]
        }
    }

    /// The decoder's projections fused and transposed, from the cache when they were made from these very
    /// weights.
    func decoderWeights() -> DecoderWeights {
        let projections = decoderProjections
        let tensors = [embed_tokens.weight.value]
            + projections.joined().joined().flatMap { [$0.weight.value] + ($0.bias.map { [$0.value] } ?? []) }
        if let cached = DecoderWeights.cache.withLock({ $0 }), cached.wereMade(from: tensors) { return cached }
        let layers = projections.map { groups in
            DecoderLayerWeights(
                selfInput: DecoderProjection(groups[0]), selfOutput: DecoderProjection(groups[1]),
                crossQuery: DecoderProjection(groups[2]), crossOutput: DecoderProjection(groups[3]),
                expand: DecoderProjection(groups[4]), contract: DecoderProjection(groups[5]))
        }
        let (v, d) = (configuration.vocabularySize, configuration.modelDimension)
        var output = [Float](repeating: 0, count: v * d)
        embed_tokens.weight.value.withUnsafeBufferPointer { table in
            output.withUnsafeMutableBufferPointer { transposed in
                transposeMatrix(table.baseAddress!, rows: v, columns: d, into: transposed.baseAddress!)
            }
        }
        let panels = v % 8 != 0 ? nil : embed_tokens.weight.value.withUnsafeBufferPointer { table in
            Tensor(shape: [v * d], scalars: panelWeights(table.baseAddress!, outputs: v, inputs: d))
        }
        let weights = DecoderWeights(
            layers: layers, output: Tensor(shape: [d, v], scalars: output), outputPanels: panels, sources: tensors)
        DecoderWeights.cache.withLock { $0 = weights }
        return weights
    }
}

/// One Luna layer's running sums for a step: where the previous step's are read and this step's written
/// (the same buffers when every row continues its own row, else the spare ones, grown to `rows` rows).
private struct LunaSums {
    let oldValues: UnsafeMutablePointer<Float>
    let newValues: UnsafeMutablePointer<Float>
    let oldKeys: UnsafeMutablePointer<Float>
    let newKeys: UnsafeMutablePointer<Float>

    init(_ memory: DecoderMemory, layer i: Int, rows: Int, width: Int, inPlace: Bool) {
        let tied = memory.tiedSums
        if !inPlace {
            if !tied { memory.spareKeySums[i].reserve(rows * width) }
            memory.spareValueSums[i].reserve(rows * width)
        }
        oldValues = memory.valueSums[i].pointer
        newValues = inPlace ? oldValues : memory.spareValueSums[i].pointer
        oldKeys = tied ? oldValues : memory.keySums[i].pointer
        newKeys = tied ? newValues : (inPlace ? oldKeys : memory.spareKeySums[i].pointer)
    }
}

/// `body` with the base addresses of `tensors`' storage, all held open meanwhile.
private func withBaseAddresses<R>(
    _ tensors: ArraySlice<Tensor>, _ held: [UnsafePointer<Float>] = [], _ body: ([UnsafePointer<Float>]) -> R
) -> R {
    guard let first = tensors.first else { return body(held) }
    return first.withUnsafeBufferPointer { withBaseAddresses(tensors.dropFirst(), held + [$0.baseAddress!], body) }
}

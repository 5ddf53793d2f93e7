import Foundation

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
                        bias: nil, outputs: v, into: logits.baseAddress!)
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

        for (i, layer) in lunaDecoderLayers.enumerated() {
            let pre = layer.normalizeBefore
            let attention = layer.self_attn
            let weights = sources.weights.layers[i]
            let fusedWidth = weights.selfInput.outputs
            // Causal Luna self-attention.
            let input = pre ? layerNormRows(layer.self_attn_layer_norm, y, rows: rows, width: d, scratch: scratch) : y
            linearRows(input, rows: rows, weights.selfInput, into: wide)
            precondition(tied == (attention.c_proj != nil), "lunaStep: tie_kv disagrees with layer \(i)")
            if !inPlace {
                if !tied { memory.spareKeySums[i].reserve(rows * sumWidth) }
                memory.spareValueSums[i].reserve(rows * sumWidth)
            }
            let oldValues = memory.valueSums[i].pointer
            let newValues = inPlace ? oldValues : memory.spareValueSums[i].pointer
            let oldKeys = tied ? oldValues : memory.keySums[i].pointer
            let newKeys = tied ? newValues : (inPlace ? oldKeys : memory.spareKeySums[i].pointer)
            let scale = attention.scale(d)
            let softplusBeta = Float(Foundation.log(2.0))
            let activation = attention.activation
            sources.packQueries[i].withUnsafeBufferPointer { packQuery in
                let packQuery = packQuery.baseAddress!
                Parallel.forEachRange(rows, work: rows * sumWidth * (tied ? 2 : 4)) { range in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * slots + headWidth) { buffer in
                        let (alpha, e, scaledQuery) = (buffer.baseAddress!, buffer.baseAddress! + slots, buffer.baseAddress! + 2 * slots)
                        for row in range {
                            let source = rowSources[row]
                            let valid = sources.packedLengths[source]
                            let projected = wide + row * fusedWidth
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
                            panels: panels, bias: b.baseAddress!, outputs: projection.outputs, into: out, relu: relu)
                    }
                } else {
                    decoderLinear(
                        x, rows: rows, inputs: projection.inputs, weight: w.baseAddress!, transposed: true,
                        panels: panels, bias: nil, outputs: projection.outputs, into: out, relu: relu)
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

// Incremental (step-by-step) decoding for beam search: luna.md §2.4; fairseq's `incremental_state`.

/// Everything an ``EncoderDecoder`` carries from one decoding step to the next, per row (hypothesis).
///
/// Luna: per layer the source-derived pieces (Π, the cross-attention keys/values, computed once at
/// ``EncoderDecoder/start(sources:copies:)``) and the causal running sums, O(L·d) per row whatever the
/// number of steps. Transformer: the cross keys/values and a self-attention key/value cache growing by
/// one position per step.
public struct DecoderState {
    /// The encoder output, one row per hypothesis.
    public internal(set) var encoder: EncoderOutput
    var lunaContexts: [LunaDecoderSourceContext] = []
    var causalStates: [CausalLunaState] = []
    var crossKeys: [Variable] = []
    var crossValues: [Variable] = []
    var caches: [KeyValueCache] = []
    /// Tokens fed so far.
    public internal(set) var steps = 0
    /// The source (index into `start`'s sources) each row belongs to.
    public internal(set) var rowSources: [Int]

    init(encoder: EncoderOutput) {
        self.encoder = encoder
        rowSources = Array(encoder.sourceLengths.indices)
    }

    /// Number of rows.
    public var rowCount: Int { rowSources.count }

    /// Keeps `rows` (indices into the current rows, repeats allowed), in that order.
    ///
    /// The source-derived tensors (encoder output, Π, cross keys and values) are equal for every row of a
    /// source, so they are only copied when some row changes source (a finished sentence leaves the
    /// batch); a beam step that shuffles hypotheses within their sentences copies only the running sums
    /// or key/value caches, as fairseq does.
    public mutating func reorder(rows: [Int]) {
        let sources = rows.map { rowSources[$0] }
        if sources != rowSources {
            encoder = encoder.gatheringRows(rows)
            lunaContexts = lunaContexts.map { $0.gatheringRows(rows) }
            crossKeys = crossKeys.map { Variable($0.value.gatheringRows(rows)) }
            crossValues = crossValues.map { Variable($0.value.gatheringRows(rows)) }
            rowSources = sources
        }
        for i in causalStates.indices { causalStates[i].reorder(rows: rows) }
        for i in caches.indices { caches[i].reorder(rows: rows) }
    }
}

extension EncoderDecoder: IncrementalDecoder {
    public typealias State = DecoderState

    public var vocabularySize: Int { configuration.vocabularySize }

    /// Encodes the sources (each ending in EOS) as one right-padded batch and prepares `copies` rows per
    /// source, source-major.
    public func start(sources: [[Int]], copies: Int) -> DecoderState {
        precondition(copies >= 1 && !sources.isEmpty && sources.allSatisfy { !$0.isEmpty }, "start: empty input")
        let encoder = encode(TokenBatch(rows: sources, padId: configuration.padId), on: nil)
        var state = DecoderState(encoder: encoder)
        if var p = encoder.projected {
            for layer in lunaDecoderLayers {
                let context = layer.sourceContext(p: p, encoder: encoder)
                state.lunaContexts.append(context)
                p = context.nextP
            }
            state.causalStates = Array(repeating: CausalLunaState(), count: lunaDecoderLayers.count)
        } else {
            for layer in transformerDecoderLayers {
                let (keys, values) = layer.crossKeysValues(encoder.states)
                state.crossKeys.append(keys)
                state.crossValues.append(values)
            }
            state.caches = Array(repeating: KeyValueCache(), count: transformerDecoderLayers.count)
        }
        if copies > 1 { state.reorder(rows: sources.indices.flatMap { Array(repeating: $0, count: copies) }) }
        return state
    }

    /// Feeds one token per row (position `position_offset + steps`) and returns the next-token
    /// log-probabilities, `[rows, V]` row-major.
    public func step(tokens: [Int], state: inout DecoderState) -> [Float] {
        logProbabilities(step: tokens, state: &state).value.scalars
    }

    /// ``step(tokens:state:)`` as a tensor, `[rows, V]`.
    public func logProbabilities(step tokens: [Int], state: inout DecoderState) -> Variable {
        precondition(tokens.count == state.rowCount, "step: \(tokens.count) tokens for \(state.rowCount) rows")
        let batch = TokenBatch(ids: tokens, batchSize: tokens.count, length: 1)
        var y = embed(batch, start: state.steps, on: nil)  // [R, 1, d]
        if !lunaDecoderLayers.isEmpty {
            for (i, layer) in lunaDecoderLayers.enumerated() {
                y = layer.step(y, context: state.lunaContexts[i], encoder: state.encoder, state: &state.causalStates[i])
            }
        } else {
            for (i, layer) in transformerDecoderLayers.enumerated() {
                y = layer.step(
                    y, crossKeys: state.crossKeys[i], crossValues: state.crossValues[i],
                    sourceMask: state.encoder.sourceMask, cache: &state.caches[i])
            }
        }
        state.steps += 1
        let logits = outputLogits(y, on: nil)  // [R, 1, V]
        return logSoftmax(reshape(logits, [tokens.count, configuration.vocabularySize]))
    }

    public func reorder(_ state: inout DecoderState, rows: [Int]) {
        state.reorder(rows: rows)
    }
}

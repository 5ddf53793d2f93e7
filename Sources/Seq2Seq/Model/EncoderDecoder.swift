// Reference: XuezheMax/fairseq-apollo `fairseq/models/luna.py` (`LunaEncoder`, `LunaDecoder`) and fairseq
// `fairseq/models/transformer.py`; luna.md §1.4, §1.6, §3.1.

/// A right-padded batch of token id sequences, `[B, N]` row-major.
public struct TokenBatch: Sendable, Equatable {
    /// The ids, `batchSize × length`, each row padded on the right.
    public var ids: [Int]
    public var batchSize: Int
    public var length: Int

    public init(ids: [Int], batchSize: Int, length: Int) {
        precondition(ids.count == batchSize * length, "TokenBatch: \(ids.count) ids for [\(batchSize), \(length)]")
        self.ids = ids
        self.batchSize = batchSize
        self.length = length
    }

    /// The rows padded with `padId` to the longest.
    public init(rows: [[Int]], padId: Int) {
        let length = rows.map(\.count).max() ?? 0
        self.init(
            ids: rows.flatMap { $0 + [Int](repeating: padId, count: length - $0.count) }, batchSize: rows.count,
            length: length)
    }

    /// Row `b` without its padding.
    public func row(_ b: Int, padId: Int) -> [Int] {
        Array(ids[(b * length)..<((b + 1) * length)].prefix { $0 != padId })
    }

    /// Non-pad tokens per row.
    public func lengths(padId: Int) -> [Int] {
        (0..<batchSize).map { b in ids[(b * length)..<((b + 1) * length)].filter { $0 != padId }.count }
    }

    /// `[B, N]`, 1 at pads.
    public func paddingMask(padId: Int) -> Tensor {
        Tensor(shape: [batchSize, length], scalars: ids.map { $0 == padId ? 1 : 0 })
    }
}

/// What the encoder hands to the decoder.
public struct EncoderOutput {
    /// Final encoder states `[B, N, d]` (after the final LayerNorm in pre-norm).
    public var states: Variable
    /// 1 at source pads, `[B, 1, 1, N]` (broadcasts over heads and queries).
    public var sourceMask: Tensor
    /// Non-pad source tokens per row, EOS included (n_i).
    public var sourceLengths: [Int]
    /// Luna: the encoder's final P, `[B, L, d]` (after its final LayerNorm in pre-norm) = the decoder's P_0.
    public var projected: Variable?
    /// Luna with dynamic projection: 1 at masked P slots (j ≥ n_i), `[B, 1, 1, L]`.
    public var packedMask: Tensor?

    /// Keeps `rows` of everything (repeats allowed).
    func gatheringRows(_ rows: [Int]) -> EncoderOutput {
        EncoderOutput(
            states: Variable(states.value.gatheringRows(rows)), sourceMask: sourceMask.gatheringRows(rows),
            sourceLengths: rows.map { sourceLengths[$0] }, projected: projected.map { Variable($0.value.gatheringRows(rows)) },
            packedMask: packedMask?.gatheringRows(rows))
    }
}

/// The encoder-decoder: Luna or the softmax Transformer, with one embedding table shared by source
/// tokens, target tokens and the output projection.
///
/// ```
/// x = Drop(√d·E[id] + S[position_offset + t])                   tokens (source and target)
/// P0 = Drop(√d·P_table[0:L] + S[0:L]),  L = min(l, max n_i)     Luna, one dropout mask per sentence
/// logits = Y_final · Eᵀ                                          no bias
/// ```
/// Shapes: B batch, N source length, T target length, d width, V vocabulary.
public struct EncoderDecoder: Layer {
    public let configuration: ModelConfiguration
    /// E `[V, d]`, stored as `encoder.embed_tokens.weight`.
    public var embed_tokens: Embedding
    /// Luna: the learned P table `[l, d]` (`encoder.projected_embeddings`).
    public var projected_embeddings: Parameter?
    public var lunaEncoderLayers: [LunaEncoderLayer] = []
    public var lunaDecoderLayers: [LunaDecoderLayer] = []
    public var transformerEncoderLayers: [TransformerEncoderLayer] = []
    public var transformerDecoderLayers: [TransformerDecoderLayer] = []
    /// Pre-norm only: final LayerNorms of the encoder states, the encoder's P, and the decoder states.
    public var encoderLayerNorm: LayerNorm?
    public var encoderProjectedLayerNorm: LayerNorm?
    public var decoderLayerNorm: LayerNorm?

    /// A freshly initialised model (the official initialisation; the pad row of E is zero).
    /// - Precondition: `configuration.problem` is nil.
    public init(_ configuration: ModelConfiguration, seed: UInt64) {
        if let problem = configuration.problem { preconditionFailure("EncoderDecoder: \(problem)") }
        self.configuration = configuration
        let c = configuration
        let d = c.modelDimension
        var generator = SplitMix64(seed: seed)
        embed_tokens = Embedding(vocabularySize: c.vocabularySize, dimension: d, paddingIndex: c.padId, generator: &generator)
        switch c.arch {
        case .luna:
            projected_embeddings = Parameter(
                .normal([c.projectionLength, d], standardDeviation: 1 / Float(d).squareRoot(), generator: &generator))
            lunaEncoderLayers = (0..<c.encoderLayers).map { _ in LunaEncoderLayer(c, generator: &generator) }
            lunaDecoderLayers = (0..<c.decoderLayers).map { _ in LunaDecoderLayer(c, generator: &generator) }
            if c.normalizeBefore { encoderProjectedLayerNorm = LayerNorm(dimension: d, epsilon: c.layerNormEpsilon) }
        case .transformer:
            transformerEncoderLayers = (0..<c.encoderLayers).map { _ in TransformerEncoderLayer(c, generator: &generator) }
            transformerDecoderLayers = (0..<c.decoderLayers).map { _ in TransformerDecoderLayer(c, generator: &generator) }
        }
        if c.normalizeBefore {
            encoderLayerNorm = LayerNorm(dimension: d, epsilon: c.layerNormEpsilon)
            decoderLayerNorm = LayerNorm(dimension: d, epsilon: c.layerNormEpsilon)
        }
    }

    /// Every parameter under its checkpoint name (the official state-dict keys; the shared embedding once).
    public func parameters(prefix: String) -> [(name: String, parameter: Parameter)] {
        let encoder = qualifiedName(prefix, "encoder")
        let decoder = qualifiedName(prefix, "decoder")
        var list = embed_tokens.parameters(prefix: qualifiedName(encoder, "embed_tokens"))
        if let projected_embeddings { list.append((qualifiedName(encoder, "projected_embeddings"), projected_embeddings)) }
        for (i, layer) in lunaEncoderLayers.enumerated() { list += layer.parameters(prefix: "\(encoder).layers.\(i)") }
        for (i, layer) in transformerEncoderLayers.enumerated() { list += layer.parameters(prefix: "\(encoder).layers.\(i)") }
        list += encoderLayerNorm?.parameters(prefix: qualifiedName(encoder, "layer_norm")) ?? []
        list += encoderProjectedLayerNorm?.parameters(prefix: qualifiedName(encoder, "proj_layer_norm")) ?? []
        for (i, layer) in lunaDecoderLayers.enumerated() { list += layer.parameters(prefix: "\(decoder).layers.\(i)") }
        for (i, layer) in transformerDecoderLayers.enumerated() { list += layer.parameters(prefix: "\(decoder).layers.\(i)") }
        list += decoderLayerNorm?.parameters(prefix: qualifiedName(decoder, "layer_norm")) ?? []
        return list
    }

    /// √d·E[ids] + S[offset + start + t], then dropout: `[B, N, d]`.
    func embed(_ batch: TokenBatch, start: Int = 0, on tape: Tape?) -> Variable {
        let d = configuration.modelDimension
        let first = configuration.positionOffset + start
        let tokens = embed_tokens(batch.ids, shape: [batch.batchSize, batch.length], on: tape)  // [B, N, d]
        let positions = Sinusoid.table(positions: first..<(first + batch.length), dimension: d)  // [N, d]
        let x = tokens * Float(d).squareRoot() + Variable(positions)
        return dropout(x, probability: configuration.dropout)
    }

    /// Runs the encoder.
    /// - Parameters:
    ///   - source: `[B, N]` ids, each row ending in EOS, right-padded.
    ///   - tape: records for training when given; nil for inference.
    public func encode(_ source: TokenBatch, on tape: Tape?) -> EncoderOutput {
        let c = configuration
        let lengths = source.lengths(padId: c.padId)
        let sourceMask = keyPaddingMask(source.paddingMask(padId: c.padId))  // [B, 1, 1, N]
        var x = embed(source, on: tape)  // [B, N, d]
        guard let projected_embeddings else {
            for layer in transformerEncoderLayers { x = layer(x, sourceMask: sourceMask) }
            if let encoderLayerNorm { x = encoderLayerNorm(x) }
            return EncoderOutput(states: x, sourceMask: sourceMask, sourceLengths: lengths)
        }
        let d = c.modelDimension
        // L = min(l, longest source); sentence i uses min(l, n_i) slots, the others masked in every unpack.
        let slots = c.dynamicProjection ? min(c.projectionLength, lengths.max() ?? 0) : c.projectionLength
        let table = slice(Variable(projected_embeddings, on: tape), axis: 0, 0..<slots)  // [L, d]
        let p0 = table * Float(d).squareRoot() + Variable(Sinusoid.table(positions: 0..<slots, dimension: d))
        // Broadcast first, then dropout: each sentence gets its own mask, as the official LunaEncoder
        // expands px to L x B x C before its dropout (luna.md §1.4 has the order the other way round).
        var p = dropout(broadcast(p0, to: [source.batchSize, slots, d]), probability: c.dropout)  // [B, L, d]
        var packedMask: Tensor?
        if c.dynamicProjection {
            packedMask = keyPaddingMask(Tensor.paddingMask(lengths: lengths, maximumLength: slots))  // [B, 1, 1, L]
        }
        for layer in lunaEncoderLayers { (x, p) = layer(x, p: p, sourceMask: sourceMask, packedMask: packedMask) }
        if let encoderLayerNorm { x = encoderLayerNorm(x) }
        if let encoderProjectedLayerNorm { p = encoderProjectedLayerNorm(p) }
        return EncoderOutput(
            states: x, sourceMask: sourceMask, sourceLengths: lengths, projected: p, packedMask: packedMask)
    }

    /// The decoder over a whole target prefix batch at once (teacher forcing).
    /// - Parameters:
    ///   - previousOutput: `[B, T]` decoder input ids ([EOS] + target pieces), right-padded.
    /// - Returns: logits `[B, T, V]`.
    public func decode(_ previousOutput: TokenBatch, encoder: EncoderOutput, on tape: Tape?) -> Variable {
        var y = embed(previousOutput, on: tape)  // [B, T, d]
        if var p = encoder.projected {
            for layer in lunaDecoderLayers {
                let context = layer.sourceContext(p: p, encoder: encoder)
                y = layer(y, context: context, encoder: encoder)
                p = context.nextP
            }
        } else {
            for layer in transformerDecoderLayers {
                let (keys, values) = layer.crossKeysValues(encoder.states)
                y = layer(y, crossKeys: keys, crossValues: values, sourceMask: encoder.sourceMask)
            }
        }
        return outputLogits(y, on: tape)
    }

    /// The final LayerNorm (pre-norm) and the tied output projection: `[B, T, d]` → `[B, T, V]`.
    func outputLogits(_ y: Variable, on tape: Tape?) -> Variable {
        let y = decoderLayerNorm.map { $0(y) } ?? y
        return linear(y, weight: Variable(embed_tokens.weight, on: tape))  // y·Eᵀ, no bias
    }

    /// Log-probabilities of every next token for a whole batch: `[B, T, V]`.
    public func logProbabilities(
        source: TokenBatch, previousOutput: TokenBatch, on tape: Tape? = nil
    ) -> Variable {
        logSoftmax(decode(previousOutput, encoder: encode(source, on: tape), on: tape))
    }

    /// The label-smoothed cross-entropy of `target` (fairseq's current criterion, summed over target
    /// tokens that are not pad).
    ///
    /// With lp the log-probabilities, `εᵢ = ε/(V − 1)`:
    /// `loss = Σ (1 − ε − εᵢ)·(−lp[target]) + εᵢ·(−Σ_v lp[v])`.
    /// - Returns: the summed loss (shape `[]`, on `tape`), the summed NLL and the number of target tokens.
    public func loss(
        source: TokenBatch, previousOutput: TokenBatch, target: TokenBatch, labelSmoothing: Float, on tape: Tape?
    ) -> (loss: Variable, nllLoss: Double, tokenCount: Int) {
        precondition(
            target.batchSize == previousOutput.batchSize && target.length == previousOutput.length,
            "loss: target [\(target.batchSize), \(target.length)] for decoder input [\(previousOutput.batchSize), \(previousOutput.length)]")
        let logits = decode(previousOutput, encoder: encode(source, on: tape), on: tape)  // [B, T, V]
        let rows = reshape(logits, [-1, configuration.vocabularySize])  // [B·T, V]
        let result = labelSmoothedCrossEntropy(
            logits: rows, targets: target.ids, labelSmoothing: labelSmoothing, ignoring: configuration.padId)
        return (result.loss, result.nllLoss, result.count)
    }
}

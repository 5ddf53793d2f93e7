// The hyperparameters of a model directory's `config.json`. Keys and meanings are fixed by
// ../shared/fixtures/luna-parity/README.md ("config.json"); docs/model-format.md restates them.

/// Architecture and hyperparameters of an encoder-decoder, as stored in a model directory's `config.json`.
///
/// The coding keys are the file's snake_case keys. Keys marked *Luna* are written only when ``arch`` is
/// ``Architecture/luna`` and take their defaults when absent; unknown keys are ignored, so a newer file
/// with extra keys still loads.
public struct ModelConfiguration: Codable, Sendable, Equatable {
    /// The two model families of format 1.
    public enum Architecture: String, Codable, Sendable {
        /// Luna attention in both stacks (Ma et al., 2021; fairseq-apollo `luna.py`).
        case luna
        /// The softmax Transformer baseline (fairseq `transformer.py`).
        case transformer
    }

    /// The positive weight function of causal Luna attention.
    public enum CausalActivation: String, Codable, Sendable {
        /// `ln(1 + e^{βz})/β` with β = ln 2, the identity where βz > 20 (the official final code).
        case softplus
        /// `elu(z) + 1` (the official code before 2021-08).
        case elu
    }

    /// How a Luna decoder attends to the encoder output.
    public enum CrossAttention: String, Codable, Sendable {
        /// Packed through the decoder's own P (official).
        case luna
        /// Ordinary softmax attention over the encoder states; P is then not updated in the decoder.
        case softmax
    }

    /// Always `"luna-seq2seq"`.
    public var format: String = "luna-seq2seq"
    /// Format version; this code reads and writes 1.
    public var formatVersion: Int = 1
    public var arch: Architecture = .luna
    /// V: rows of the shared embedding.
    public var vocabularySize: Int
    /// d: the model width.
    public var modelDimension: Int
    public var encoderLayers: Int
    public var decoderLayers: Int
    /// H: heads of softmax attention, of the Luna unpack step and of causal Luna attention.
    public var attentionHeads: Int
    /// *Luna.* H_p: heads of the pack step of bidirectional Luna attention (encoder self, decoder cross).
    public var packHeads: Int
    /// Inner width of the ReLU feed-forward block.
    public var ffnDimension: Int
    /// *Luna.* l: rows of the learned P table.
    public var projectionLength: Int = 32
    /// *Luna.* L = min(l, longest source) with a P padding mask, rather than L = l unmasked.
    public var dynamicProjection: Bool = true
    /// *Luna.*
    public var causalActivation: CausalActivation = .softplus
    /// *Luna.* One projection serves as key and value (`pc_proj`, `c_proj`).
    public var tieKeyValue: Bool = true
    /// *Luna.*
    public var crossAttention: CrossAttention = .luna
    /// Pre-norm (plus final LayerNorms) rather than post-norm.
    public var normalizeBefore: Bool = false
    public var layerNormEpsilon: Float = 1e-5
    /// Always true in format 1: one table for source, target and output.
    public var shareAllEmbeddings: Bool = true
    /// Sinusoid position of a sentence's first token (fairseq: pad index + 1).
    public var positionOffset: Int = 2
    /// Longest source or target, in tokens including EOS, the model accepts.
    public var maxPositions: Int = 1024
    public var padId: Int = 0
    public var unknownId: Int = 1
    public var bosId: Int = 2
    public var eosId: Int = 3
    /// On the scaled embeddings (tokens and P0) and every residual branch.
    public var dropout: Float = 0.1
    /// On attention probabilities and on the causal Luna α.
    public var attentionDropout: Float = 0.1
    /// Inside the FFN, after ReLU.
    public var activationDropout: Float = 0.1

    /// A configuration; Luna-only values are ignored for the Transformer.
    public init(
        arch: Architecture, vocabularySize: Int, modelDimension: Int, encoderLayers: Int, decoderLayers: Int,
        attentionHeads: Int, packHeads: Int? = nil, ffnDimension: Int, projectionLength: Int = 32
    ) {
        self.arch = arch
        self.vocabularySize = vocabularySize
        self.modelDimension = modelDimension
        self.encoderLayers = encoderLayers
        self.decoderLayers = decoderLayers
        self.attentionHeads = attentionHeads
        self.packHeads = packHeads ?? attentionHeads
        self.ffnDimension = ffnDimension
        self.projectionLength = projectionLength
    }

    /// d/H: the width of one unpack / softmax / causal head.
    public var headDimension: Int { modelDimension / attentionHeads }
    /// d/H_p: the width of one pack head.
    public var packHeadDimension: Int { modelDimension / packHeads }

    /// The first inconsistency found, or nil: head counts must divide d, sizes must be positive.
    public var problem: String? {
        if format != "luna-seq2seq" { return "format is \"\(format)\", expected \"luna-seq2seq\"" }
        if formatVersion != 1 { return "format_version \(formatVersion) is not supported (this build reads 1)" }
        for (key, value) in [
            ("vocab_size", vocabularySize), ("d_model", modelDimension), ("attention_heads", attentionHeads),
            ("ffn_dim", ffnDimension), ("max_positions", maxPositions),
        ] where value <= 0 {
            return "\(key) is \(value), must be positive"
        }
        if encoderLayers < 0 || decoderLayers < 0 { return "layer counts must not be negative" }
        if modelDimension % attentionHeads != 0 {
            return "attention_heads \(attentionHeads) does not divide d_model \(modelDimension)"
        }
        if modelDimension % 2 != 0 { return "d_model \(modelDimension) must be even (sinusoid halves)" }
        if arch == .luna {
            if packHeads <= 0 || modelDimension % packHeads != 0 {
                return "pack_heads \(packHeads) does not divide d_model \(modelDimension)"
            }
            if projectionLength <= 0 { return "projection_length \(projectionLength) must be positive" }
        }
        if !shareAllEmbeddings { return "share_all_embeddings false is not supported in format 1" }
        for (key, id) in [("pad_id", padId), ("unk_id", unknownId), ("bos_id", bosId), ("eos_id", eosId)]
        where id < 0 || id >= vocabularySize {
            return "\(key) \(id) is outside the vocabulary of \(vocabularySize)"
        }
        return nil
    }

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case arch
        case vocabularySize = "vocab_size"
        case modelDimension = "d_model"
        case encoderLayers = "encoder_layers"
        case decoderLayers = "decoder_layers"
        case attentionHeads = "attention_heads"
        case packHeads = "pack_heads"
        case ffnDimension = "ffn_dim"
        case projectionLength = "projection_length"
        case dynamicProjection = "dynamic_projection"
        case causalActivation = "causal_activation"
        case tieKeyValue = "tie_kv"
        case crossAttention = "cross_attention"
        case normalizeBefore = "normalize_before"
        case layerNormEpsilon = "layer_norm_eps"
        case shareAllEmbeddings = "share_all_embeddings"
        case positionOffset = "position_offset"
        case maxPositions = "max_positions"
        case padId = "pad_id"
        case unknownId = "unk_id"
        case bosId = "bos_id"
        case eosId = "eos_id"
        case dropout
        case attentionDropout = "attention_dropout"
        case activationDropout = "activation_dropout"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        formatVersion = try c.decode(Int.self, forKey: .formatVersion)
        arch = try c.decode(Architecture.self, forKey: .arch)
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        modelDimension = try c.decode(Int.self, forKey: .modelDimension)
        encoderLayers = try c.decode(Int.self, forKey: .encoderLayers)
        decoderLayers = try c.decode(Int.self, forKey: .decoderLayers)
        attentionHeads = try c.decode(Int.self, forKey: .attentionHeads)
        packHeads = try c.decodeIfPresent(Int.self, forKey: .packHeads) ?? attentionHeads
        ffnDimension = try c.decode(Int.self, forKey: .ffnDimension)
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        projectionLength = try value(.projectionLength, projectionLength)
        dynamicProjection = try value(.dynamicProjection, dynamicProjection)
        causalActivation = try value(.causalActivation, causalActivation)
        tieKeyValue = try value(.tieKeyValue, tieKeyValue)
        crossAttention = try value(.crossAttention, crossAttention)
        normalizeBefore = try value(.normalizeBefore, normalizeBefore)
        layerNormEpsilon = try value(.layerNormEpsilon, layerNormEpsilon)
        shareAllEmbeddings = try value(.shareAllEmbeddings, shareAllEmbeddings)
        positionOffset = try value(.positionOffset, positionOffset)
        maxPositions = try value(.maxPositions, maxPositions)
        padId = try value(.padId, padId)
        unknownId = try value(.unknownId, unknownId)
        bosId = try value(.bosId, bosId)
        eosId = try value(.eosId, eosId)
        dropout = try value(.dropout, dropout)
        attentionDropout = try value(.attentionDropout, attentionDropout)
        activationDropout = try value(.activationDropout, activationDropout)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(formatVersion, forKey: .formatVersion)
        try c.encode(arch, forKey: .arch)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(modelDimension, forKey: .modelDimension)
        try c.encode(encoderLayers, forKey: .encoderLayers)
        try c.encode(decoderLayers, forKey: .decoderLayers)
        try c.encode(attentionHeads, forKey: .attentionHeads)
        if arch == .luna { try c.encode(packHeads, forKey: .packHeads) }
        try c.encode(ffnDimension, forKey: .ffnDimension)
        if arch == .luna {
            try c.encode(projectionLength, forKey: .projectionLength)
            try c.encode(dynamicProjection, forKey: .dynamicProjection)
            try c.encode(causalActivation, forKey: .causalActivation)
            try c.encode(tieKeyValue, forKey: .tieKeyValue)
            try c.encode(crossAttention, forKey: .crossAttention)
        }
        try c.encode(normalizeBefore, forKey: .normalizeBefore)
        try c.encode(layerNormEpsilon, forKey: .layerNormEpsilon)
        try c.encode(shareAllEmbeddings, forKey: .shareAllEmbeddings)
        try c.encode(positionOffset, forKey: .positionOffset)
        try c.encode(maxPositions, forKey: .maxPositions)
        try c.encode(padId, forKey: .padId)
        try c.encode(unknownId, forKey: .unknownId)
        try c.encode(bosId, forKey: .bosId)
        try c.encode(eosId, forKey: .eosId)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(attentionDropout, forKey: .attentionDropout)
        try c.encode(activationDropout, forKey: .activationDropout)
    }
}

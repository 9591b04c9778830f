// The architecture read from a model directory's config.json (modelscope OFAConfig).
import Foundation

/// OFA architecture. Checkpoint spellings appear only in `CodingKeys`; every default is OFAConfig's class default.
public struct ModelConfiguration: Codable, Equatable, Sendable {
    public var vocabularySize = 59457
    public var modelDimension = 512
    public var encoderLayers = 4
    public var decoderLayers = 4
    public var encoderAttentionHeads = 8
    public var decoderAttentionHeads = 8
    public var encoderFeedForwardDimension = 2048
    public var decoderFeedForwardDimension = 2048
    public var maximumPositions = 1024
    public var activationFunction = "gelu"
    public var scaleEmbedding = false
    public var encoderNormalizeBefore = true
    public var decoderNormalizeBefore = true
    public var normformer = true
    public var layerNormEmbedding = true
    public var patchLayerNormEmbedding = true
    public var addTypeEmbedding = true
    public var shareDecoderInputOutputEmbedding = true
    public var tokenBucketSize = 256
    public var imageBucketSize = 42
    public var attentionScaleFactor: Float = 2
    public var entanglePositionEmbedding = false
    public var shareAttentionBias = false
    public var resnetType = "resnet101"
    public var useOFASys = false

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size"
        case modelDimension = "d_model"
        case encoderLayers = "encoder_layers"
        case decoderLayers = "decoder_layers"
        case encoderAttentionHeads = "encoder_attention_heads"
        case decoderAttentionHeads = "decoder_attention_heads"
        case encoderFeedForwardDimension = "encoder_ffn_dim"
        case decoderFeedForwardDimension = "decoder_ffn_dim"
        case maximumPositions = "max_position_embeddings"
        case activationFunction = "activation_function"
        case scaleEmbedding = "scale_embedding"
        case encoderNormalizeBefore = "encoder_normalize_before"
        case decoderNormalizeBefore = "decoder_normalize_before"
        case normformer
        case layerNormEmbedding = "layernorm_embedding"
        case patchLayerNormEmbedding = "patch_layernorm_embedding"
        case addTypeEmbedding = "add_type_embedding"
        case shareDecoderInputOutputEmbedding = "share_decoder_input_output_embed"
        case tokenBucketSize = "token_bucket_size"
        case imageBucketSize = "image_bucket_size"
        case attentionScaleFactor = "attn_scale_factor"
        case entanglePositionEmbedding = "entangle_position_embedding"
        case shareAttentionBias = "share_attn_bias"
        case resnetType = "resnet_type"
        case useOFASys = "use_ofasys"
    }

    public init() {}

    public init(from decoder: Swift.Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ current: T) throws -> T {
            try values.decodeIfPresent(T.self, forKey: key) ?? current
        }
        vocabularySize = try read(.vocabularySize, vocabularySize)
        modelDimension = try read(.modelDimension, modelDimension)
        encoderLayers = try read(.encoderLayers, encoderLayers)
        decoderLayers = try read(.decoderLayers, decoderLayers)
        encoderAttentionHeads = try read(.encoderAttentionHeads, encoderAttentionHeads)
        decoderAttentionHeads = try read(.decoderAttentionHeads, decoderAttentionHeads)
        encoderFeedForwardDimension = try read(.encoderFeedForwardDimension, encoderFeedForwardDimension)
        decoderFeedForwardDimension = try read(.decoderFeedForwardDimension, decoderFeedForwardDimension)
        maximumPositions = try read(.maximumPositions, maximumPositions)
        activationFunction = try read(.activationFunction, activationFunction)
        scaleEmbedding = try read(.scaleEmbedding, scaleEmbedding)
        encoderNormalizeBefore = try read(.encoderNormalizeBefore, encoderNormalizeBefore)
        decoderNormalizeBefore = try read(.decoderNormalizeBefore, decoderNormalizeBefore)
        normformer = try read(.normformer, normformer)
        layerNormEmbedding = try read(.layerNormEmbedding, layerNormEmbedding)
        patchLayerNormEmbedding = try read(.patchLayerNormEmbedding, patchLayerNormEmbedding)
        addTypeEmbedding = try read(.addTypeEmbedding, addTypeEmbedding)
        shareDecoderInputOutputEmbedding = try read(
            .shareDecoderInputOutputEmbedding, shareDecoderInputOutputEmbedding)
        tokenBucketSize = try read(.tokenBucketSize, tokenBucketSize)
        imageBucketSize = try read(.imageBucketSize, imageBucketSize)
        attentionScaleFactor = try read(.attentionScaleFactor, attentionScaleFactor)
        entanglePositionEmbedding = try read(.entanglePositionEmbedding, entanglePositionEmbedding)
        shareAttentionBias = try read(.shareAttentionBias, shareAttentionBias)
        resnetType = try read(.resnetType, resnetType)
        useOFASys = try read(.useOFASys, useOFASys)
    }

    /// Bottleneck blocks per ResNet stage (stages 1-3), modelscope's `resnet_type` map.
    public var resnetBlocks: [Int] {
        get throws {
            switch resnetType {
            case "resnet18": return [2, 2, 2]
            case "resnet34", "resnet50": return [3, 4, 6]
            case "resnet101": return [3, 4, 23]
            case "resnet152": return [3, 8, 36]
            default: throw ConfigurationError.unsupported(key: "resnet_type", value: resnetType)
            }
        }
    }

    /// Attention scale (head dimension · attn_scale_factor)^-½, applied to queries after their bias.
    public func attentionScale(heads: Int) -> Float {
        1 / (Float(modelDimension / heads) * attentionScaleFactor).squareRoot()
    }

    /// Rejects values this engine does not implement, naming the config.json key.
    public func validate() throws {
        func require(_ condition: Bool, _ key: String, _ value: Any) throws {
            if !condition { throw ConfigurationError.unsupported(key: key, value: "\(value)") }
        }
        func positive(_ value: Int, _ key: String) throws {
            if value <= 0 { throw ConfigurationError.invalid(key: key, reason: "must be positive, got \(value)") }
        }
        try positive(vocabularySize, "vocab_size")
        try positive(modelDimension, "d_model")
        try positive(encoderLayers, "encoder_layers")
        try positive(decoderLayers, "decoder_layers")
        try positive(encoderAttentionHeads, "encoder_attention_heads")
        try positive(decoderAttentionHeads, "decoder_attention_heads")
        try positive(encoderFeedForwardDimension, "encoder_ffn_dim")
        try positive(decoderFeedForwardDimension, "decoder_ffn_dim")
        try positive(maximumPositions, "max_position_embeddings")
        try positive(tokenBucketSize, "token_bucket_size")
        try positive(imageBucketSize, "image_bucket_size")
        if modelDimension % encoderAttentionHeads != 0 {
            throw ConfigurationError.invalid(key: "encoder_attention_heads", reason: "must divide d_model")
        }
        if modelDimension % decoderAttentionHeads != 0 {
            throw ConfigurationError.invalid(key: "decoder_attention_heads", reason: "must divide d_model")
        }
        if !(attentionScaleFactor > 0) {
            throw ConfigurationError.invalid(key: "attn_scale_factor", reason: "must be positive")
        }
        try require(["gelu", "relu"].contains(activationFunction), "activation_function", activationFunction)
        try require(encoderNormalizeBefore, "encoder_normalize_before", encoderNormalizeBefore)
        try require(decoderNormalizeBefore, "decoder_normalize_before", decoderNormalizeBefore)
        try require(!entanglePositionEmbedding, "entangle_position_embedding", entanglePositionEmbedding)
        try require(!shareAttentionBias, "share_attn_bias", shareAttentionBias)
        try require(!useOFASys, "use_ofasys", useOFASys)
        try require(shareDecoderInputOutputEmbedding, "share_decoder_input_output_embed", false)
        _ = try resnetBlocks
    }
}

public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
    case missingFile(String)
    case malformed(file: String, reason: String)
    case unsupported(key: String, value: String)
    case invalid(key: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path): return "missing file \(path)"
        case .malformed(let file, let reason): return "\(file) is malformed: \(reason)"
        case .unsupported(let key, let value): return "unsupported value \(value) for \(key)"
        case .invalid(let key, let reason): return "invalid \(key): \(reason)"
        }
    }
}

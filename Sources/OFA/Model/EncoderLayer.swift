// Pre-LN NormFormer encoder layer, as modelscope OFAEncoderLayer.forward (normalize_before=True).

struct EncoderLayer {
    let attentionNorm: LayerNorm
    let attention: MultiheadAttention
    let attentionMiddleNorm: LayerNorm?
    let feedForwardNorm: LayerNorm
    let feedForward: FeedForward
    let backend: Backend

    init(_ scope: WeightScope, backend: Backend, configuration: ModelConfiguration) throws {
        let width = configuration.modelDimension
        let heads = configuration.encoderAttentionHeads
        attentionNorm = try LayerNorm(scope.scope("self_attn_layer_norm"), backend: backend, width: width)
        attention = try MultiheadAttention(
            scope.scope("self_attn"), backend: backend, width: width, heads: heads,
            scale: configuration.attentionScale(heads: heads))
        attentionMiddleNorm = try LayerNorm.optional(
            scope.scope("self_attn_mid_layer_norm"), backend: backend,
            width: width, present: configuration.normformer)
        feedForwardNorm = try LayerNorm(scope.scope("final_layer_norm"), backend: backend, width: width)
        feedForward = try FeedForward(
            scope, backend: backend, width: width,
            hidden: configuration.encoderFeedForwardDimension,
            normformer: configuration.normformer,
            activation: configuration.activation)
        self.backend = backend
    }

    func callAsFunction(_ input: Tensor, bias: AttentionBias, record: (Tensor) -> Void) -> Tensor {
        let attended = attentionMiddleNorm(attention(attentionNorm(input), bias: bias, causal: false, record: record))
        let x = backend.add(input, attended)
        return backend.add(x, feedForward(feedForwardNorm(x)))
    }
}

extension ModelConfiguration {
    var activation: Activation { activationFunction == "relu" ? .relu : .gelu }
}

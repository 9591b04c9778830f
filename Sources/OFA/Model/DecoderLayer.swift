// Pre-LN NormFormer decoder layer with cross attention, as modelscope OFADecoderLayer.forward.

struct DecoderLayer {
    let selfAttentionNorm: LayerNorm
    let selfAttention: MultiheadAttention
    let selfAttentionMiddleNorm: LayerNorm?
    let crossAttentionNorm: LayerNorm
    let crossAttention: MultiheadAttention
    let crossAttentionMiddleNorm: LayerNorm?
    let feedForwardNorm: LayerNorm
    let feedForward: FeedForward
    let backend: Backend

    init(_ scope: WeightScope, backend: Backend, configuration: ModelConfiguration) throws {
        let width = configuration.modelDimension
        let heads = configuration.decoderAttentionHeads
        let scale = configuration.attentionScale(heads: heads)
        let normformer = configuration.normformer
        selfAttentionNorm = try LayerNorm(scope.scope("self_attn_layer_norm"), backend: backend, width: width)
        selfAttention = try MultiheadAttention(
            scope.scope("self_attn"), backend: backend, width: width,
            heads: heads, scale: scale)
        selfAttentionMiddleNorm = try LayerNorm.optional(
            scope.scope("self_attn_mid_layer_norm"), backend: backend,
            width: width, present: normformer)
        crossAttentionNorm = try LayerNorm(scope.scope("cross_attn_layer_norm"), backend: backend, width: width)
        crossAttention = try MultiheadAttention(
            scope.scope("cross_attn"), backend: backend, width: width,
            heads: heads, scale: scale)
        crossAttentionMiddleNorm = try LayerNorm.optional(
            scope.scope("cross_attn_mid_layer_norm"),
            backend: backend, width: width, present: normformer)
        feedForwardNorm = try LayerNorm(scope.scope("final_layer_norm"), backend: backend, width: width)
        feedForward = try FeedForward(
            scope, backend: backend, width: width,
            hidden: configuration.decoderFeedForwardDimension, normformer: normformer,
            activation: configuration.activation)
        self.backend = backend
    }

    func callAsFunction(
        _ input: Tensor, memory: (keys: Tensor, values: Tensor), selfBias: AttentionBias,
        crossBias: AttentionBias, recordSelf: (Tensor) -> Void, recordCross: (Tensor) -> Void
    ) -> Tensor {
        let selfAttended = selfAttentionMiddleNorm(
            selfAttention(selfAttentionNorm(input), bias: selfBias, causal: true, record: recordSelf))
        var x = backend.add(input, selfAttended)
        let crossAttended = crossAttentionMiddleNorm(
            crossAttention(
                crossAttentionNorm(x), keysAndValues: memory, bias: crossBias, causal: false,
                record: recordCross))
        x = backend.add(x, crossAttended)
        return backend.add(x, feedForward(feedForwardNorm(x)))
    }
}

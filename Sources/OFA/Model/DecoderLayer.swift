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
        _ input: Tensor, memory: Tensor, selfBias: AttentionBias, crossBias: AttentionBias,
        recordSelf: ((Tensor) -> Void)?, recordCross: ((Tensor) -> Void)?
    ) -> Tensor {
        let selfAttended = selfAttentionMiddleNorm(
            selfAttention(selfAttentionNorm(input), bias: selfBias, causal: true, record: recordSelf))
        var x = backend.add(input, selfAttended)
        let crossAttended = crossAttentionMiddleNorm(
            crossAttention(crossAttentionNorm(x), memory: memory, bias: crossBias, record: recordCross))
        x = backend.add(x, crossAttended)
        return backend.add(x, feedForward(feedForwardNorm(x)))
    }

    /// The same pass, keeping what `backward` reads.
    func forward(
        _ input: Tensor, memory: (keys: Tensor, values: Tensor), selfBias: AttentionBias, crossBias: AttentionBias
    ) -> (output: Tensor, trace: DecoderLayerTrace) {
        let (selfAttended, selfTrace) = selfAttention.forward(
            selfAttentionNorm(input), bias: selfBias, causal: true, record: { _ in })
        let x = backend.add(input, selfAttentionMiddleNorm(selfAttended))
        let (crossAttended, crossTrace) = crossAttention.forward(
            crossAttentionNorm(x), keysAndValues: memory, bias: crossBias, causal: false, record: { _ in })
        let y = backend.add(x, crossAttentionMiddleNorm(crossAttended))
        let (fed, feedForwardTrace) = feedForward.forward(feedForwardNorm(y))
        let trace = DecoderLayerTrace(
            input: input, selfAttended: selfAttended, afterSelf: x, crossAttended: crossAttended, afterCross: y,
            selfAttention: selfTrace, crossAttention: crossTrace, feedForward: feedForwardTrace)
        return (backend.add(y, fed), trace)
    }

    /// For ∂y/∂output: ∂y/∂input (nil without `input`: the first layer) and ∂y/∂memory (the encoder output,
    /// through this layer's cross-attention keys and values); `visitSelf` and `visitCross` see the attention
    /// probabilities' gradients on the way.
    func backward(
        _ gradient: Tensor, trace: DecoderLayerTrace, input: Bool = true, visitSelf: (Tensor) -> Void,
        visitCross: (Tensor) -> Void
    ) -> (input: Tensor?, memory: Tensor) {
        let fed = feedForward.backward(gradient, trace: trace.feedForward)
        let y = backend.add(gradient, feedForwardNorm.backward(fed, input: trace.afterCross))
        let cross = crossAttention.backward(
            crossAttentionMiddleNorm.backward(y, input: trace.crossAttended), trace: trace.crossAttention,
            visit: visitCross)!
        let x = backend.add(y, crossAttentionNorm.backward(cross.query, input: trace.afterSelf))
        guard
            let attended = selfAttention.backward(
                selfAttentionMiddleNorm.backward(x, input: trace.selfAttended), trace: trace.selfAttention,
                inputs: input, visit: visitSelf)
        else { return (nil, cross.memory) }
        let normalized = backend.add(attended.query, attended.memory)
        return (backend.add(x, selfAttentionNorm.backward(normalized, input: trace.input)), cross.memory)
    }
}

/// One decoder layer's forward pass as its backward pass reads it.
struct DecoderLayerTrace {
    let input: Tensor
    let selfAttended: Tensor
    let afterSelf: Tensor
    let crossAttended: Tensor
    let afterCross: Tensor
    let selfAttention: AttentionTrace
    let crossAttention: AttentionTrace
    let feedForward: FeedForwardTrace
}

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

    /// Norms and residual adds write over tensors nothing reads after, so a layer's buffers fit the pool's budget.
    func callAsFunction(_ input: Tensor, bias: AttentionBias, record: ((Tensor) -> Void)?) -> Tensor {
        let x = attention(attentionNorm(input), bias: bias, causal: false, record: record)
        attentionMiddleNorm.inPlace(x)
        backend.addInPlace(x, input)
        let output = feedForward(feedForwardNorm(x))
        backend.addInPlace(output, x)
        return output
    }

    /// The same pass, keeping what `backward` reads.
    func forward(_ input: Tensor, bias: AttentionBias) -> (output: Tensor, trace: EncoderLayerTrace) {
        let (attended, attentionTrace) = attention.forward(
            attentionNorm(input), bias: bias, causal: false, record: { _ in })
        let x = backend.add(input, attentionMiddleNorm(attended))
        let (fed, feedForwardTrace) = feedForward.forward(feedForwardNorm(x))
        let trace = EncoderLayerTrace(
            input: input, attended: attended, residual: x, attention: attentionTrace, feedForward: feedForwardTrace)
        return (backend.add(x, fed), trace)
    }

    /// ∂y/∂input for ∂y/∂output; `visit` sees ∂y/∂(attention probabilities) on the way. Without `input` (the
    /// first layer) the pass stops once `visit` has seen them and returns nil.
    func backward(_ gradient: Tensor, trace: EncoderLayerTrace, input: Bool = true, visit: (Tensor) -> Void)
        -> Tensor?
    {
        let fed = feedForward.backward(gradient, trace: trace.feedForward)
        let x = backend.add(gradient, feedForwardNorm.backward(fed, input: trace.residual))
        guard
            let attention = attention.backward(
                attentionMiddleNorm.backward(x, input: trace.attended), trace: trace.attention, inputs: input,
                visit: visit)
        else { return nil }
        let normalized = backend.add(attention.query, attention.memory)
        return backend.add(x, attentionNorm.backward(normalized, input: trace.input))
    }
}

/// One encoder layer's forward pass as its backward pass reads it.
struct EncoderLayerTrace {
    let input: Tensor
    /// The attention's output, before its middle LayerNorm.
    let attended: Tensor
    /// input + the normalised attention: the feed-forward's residual stream.
    let residual: Tensor
    let attention: AttentionTrace
    let feedForward: FeedForwardTrace
}

extension ModelConfiguration {
    var activation: Activation { activationFunction == "relu" ? .relu : .gelu }
}

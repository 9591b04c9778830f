// NormFormer feed-forward block: fc1 → activation → ffn_layer_norm (when normformer) → fc2.

struct FeedForward {
    let expand: Linear
    let normalization: LayerNorm?
    let contract: Linear
    let activation: Activation

    init(
        _ scope: WeightScope, backend: Backend, width: Int, hidden: Int, normformer: Bool,
        activation: Activation
    ) throws {
        expand = try Linear(scope.scope("fc1"), backend: backend, inputs: width, outputs: hidden)
        normalization = try LayerNorm.optional(
            scope.scope("ffn_layer_norm"), backend: backend, width: hidden,
            present: normformer)
        contract = try Linear(scope.scope("fc2"), backend: backend, inputs: hidden, outputs: width)
        self.activation = activation
    }

    func callAsFunction(_ input: Tensor) -> Tensor {
        let hidden = expand(input, activation: activation)
        normalization.inPlace(hidden)
        return contract(hidden)
    }

    /// The same with the activation apart from its GEMM, keeping what the backward pass reads.
    func forward(_ input: Tensor) -> (output: Tensor, trace: FeedForwardTrace) {
        let preActivation = expand(input)
        let activated = expand.backend.activate(preActivation, activation)
        return (contract(normalization(activated)), FeedForwardTrace(preActivation: preActivation))
    }

    /// ∂y/∂input for ∂y/∂output.
    func backward(_ gradient: Tensor, trace: FeedForwardTrace) -> Tensor {
        let backend = expand.backend
        var g = backend.linearInputGradient(gradient, weight: contract.weight)
        // The activation is recomputed rather than kept: [T, hidden] floats per layer less held.
        if let normalization {
            g = normalization.backward(g, input: backend.activate(trace.preActivation, activation))
        }
        g = backend.activationGradient(g, preActivation: trace.preActivation, activation: activation)
        return backend.linearInputGradient(g, weight: expand.weight)
    }
}

/// The feed-forward's hidden activations before the activation.
struct FeedForwardTrace {
    let preActivation: Tensor
}

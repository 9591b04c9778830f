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
        contract(normalization(expand(input, activation: activation)))
    }

    /// The same with the activation apart from its GEMM, keeping what the backward pass reads.
    func forward(_ input: Tensor) -> (output: Tensor, trace: FeedForwardTrace) {
        let preActivation = expand(input)
        let activated = expand.backend.activate(preActivation, activation)
        return (
            contract(normalization(activated)), FeedForwardTrace(preActivation: preActivation, activated: activated)
        )
    }

    /// ∂y/∂input for ∂y/∂output.
    func backward(_ gradient: Tensor, trace: FeedForwardTrace) -> Tensor {
        let backend = expand.backend
        var g = backend.linearInputGradient(gradient, weight: contract.weight)
        if let normalization { g = normalization.backward(g, input: trace.activated) }
        g = backend.activationGradient(g, preActivation: trace.preActivation, activation: activation)
        return backend.linearInputGradient(g, weight: expand.weight)
    }
}

/// The feed-forward's hidden activations, before and after the activation.
struct FeedForwardTrace {
    let preActivation: Tensor
    let activated: Tensor
}

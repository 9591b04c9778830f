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
}

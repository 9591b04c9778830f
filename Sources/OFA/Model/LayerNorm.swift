// LayerNorm over the last dimension with biased variance and eps 1e-5 (torch.nn.LayerNorm defaults).

struct LayerNorm {
    static let epsilon: Float = 1e-5
    let weight: Tensor
    let bias: Tensor
    let backend: Backend

    init(_ scope: WeightScope, backend: Backend, width: Int) throws {
        weight = try scope.tensor("weight", shape: [width])
        bias = try scope.tensor("bias", shape: [width])
        self.backend = backend
    }

    /// The layer if the checkpoint's configuration has it, else nil.
    static func optional(_ scope: WeightScope, backend: Backend, width: Int, present: Bool) throws -> LayerNorm? {
        present ? try LayerNorm(scope, backend: backend, width: width) : nil
    }

    func callAsFunction(_ input: Tensor) -> Tensor {
        backend.layerNorm(input, weight: weight, bias: bias, epsilon: LayerNorm.epsilon)
    }

    /// Over `tensor`, which nothing reads after.
    func inPlace(_ tensor: Tensor) {
        backend.layerNormInPlace(tensor, weight: weight, bias: bias, epsilon: LayerNorm.epsilon)
    }

    /// ∂y/∂input for ∂y/∂output, given the forward's input.
    func backward(_ gradient: Tensor, input: Tensor) -> Tensor {
        backend.layerNormGradient(gradient, input: input, weight: weight, epsilon: LayerNorm.epsilon)
    }
}

extension Optional where Wrapped == LayerNorm {
    func callAsFunction(_ input: Tensor) -> Tensor { self.map { $0(input) } ?? input }

    func inPlace(_ tensor: Tensor) { self?.inPlace(tensor) }

    func backward(_ gradient: Tensor, input: Tensor) -> Tensor {
        self.map { $0.backward(gradient, input: input) } ?? gradient
    }
}

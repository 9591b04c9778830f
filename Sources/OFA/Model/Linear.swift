// A dense layer `x·Wᵀ + b` with W stored [out, in] as in PyTorch.

struct Linear {
    let weight: Tensor
    let bias: Tensor?
    let backend: Backend

    init(_ scope: WeightScope, backend: Backend, inputs: Int, outputs: Int, bias hasBias: Bool = true) throws {
        weight = backend.prepareProductWeight(try scope.tensor("weight", shape: [outputs, inputs]))
        bias = hasBias ? try scope.tensor("bias", shape: [outputs]) : nil
        self.backend = backend
    }

    func callAsFunction(_ input: Tensor, activation: Activation = .none) -> Tensor {
        backend.linear(input, weight: weight, bias: bias, activation: activation)
    }
}

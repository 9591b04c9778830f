// Optional per-request record of intermediate activations by name, for stage-by-stage parity checks.

public final class ForwardProbe {
    public private(set) var tensors: [String: (shape: [Int], values: [Float])] = [:]

    public init() {}

    func record(_ name: String, _ tensor: Tensor, _ backend: Backend) {
        tensors[name] = (tensor.shape, backend.read(tensor))
    }
}

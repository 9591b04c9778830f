// The arithmetic a backend runs the model in. One option for every device (`--precision`); which values a backend
// offers depends on the device and is checked when the backend is made.

public enum Precision: String, Sendable, CaseIterable, Codable {
    /// float32 everywhere: the exact mode, matched against PyTorch to 1e-4.
    case float32 = "fp32"
    /// bfloat16 weights and products (float32 accumulation); LayerNorm, softmax and residuals in float32. CPUs with
    /// AVX512-BF16 or AMX.
    case bfloat16 = "bf16"
    /// float32 storage with TensorFloat-32 products: a GPU precision.
    case tensorFloat32 = "tf32"
}

public enum BackendError: Error, CustomStringConvertible, Equatable {
    /// `precision` is not offered by `backend` on this machine; `offered` lists what is, `reason` says why.
    case unsupportedPrecision(Precision, backend: String, offered: [Precision], reason: String)
    /// The backend cannot run here at all; `reason` says why.
    case unavailable(backend: String, reason: String)

    public var description: String {
        switch self {
        case .unsupportedPrecision(let precision, let backend, let offered, let reason):
            "precision \(precision.rawValue) is not available on the \(backend) backend: \(reason) (available: "
                + offered.map(\.rawValue).joined(separator: ", ") + ")"
        case .unavailable(let backend, let reason):
            "the \(backend) backend cannot run here: \(reason)"
        }
    }
}

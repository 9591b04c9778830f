// Errors from reading weights: each case names the file or tensor at fault.

public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case noWeights(directory: String)
    case unreadable(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case missingTensor(String)
    case wrongShape(name: String, expected: [Int], found: [Int])
    case unexpectedTensors([String])
    case unsupportedType(name: String, type: String)

    public var description: String {
        switch self {
        case .noWeights(let directory):
            return "no weights in \(directory): expected pytorch_model.bin, model.safetensors or a fairseq .pt file"
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .corrupt(let path, let reason): return "\(path) is corrupt or truncated: \(reason)"
        case .unsupported(let path, let reason): return "\(path) is not supported: \(reason)"
        case .missingTensor(let name): return "checkpoint has no tensor \(name)"
        case .wrongShape(let name, let expected, let found):
            return "tensor \(name) has shape \(found), expected \(expected)"
        case .unexpectedTensors(let names):
            let shown = names.prefix(10).joined(separator: ", ")
            return "checkpoint has \(names.count) unexpected tensor(s): \(shown)\(names.count > 10 ? ", …" : "")"
        case .unsupportedType(let name, let type): return "tensor \(name) has unsupported element type \(type)"
        }
    }
}

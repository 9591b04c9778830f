// Public reading of a whole small tensor file (goldens, test inputs, the tiny checkpoints) into host arrays.

public struct TensorValues: Sendable {
    public let shape: [Int]
    /// Floating-point tensors as Float, integer tensors as Int (the other array is empty).
    public let floats: [Float]
    public let integers: [Int]
}

public enum TensorFile {
    /// A `.safetensors` file, or else a PyTorch zip checkpoint (state dict, or fairseq's `{'model': …}`), by the
    /// names in the file. Floating-point tensors of any width come back as Float.
    public static func read(path: String) throws -> [String: TensorValues] {
        let file = path.hasSuffix(".safetensors") ? try Safetensors.read(path: path) : try TorchArchive.read(path: path)
        var result: [String: TensorValues] = [:]
        for (name, stored) in file.tensors {
            switch stored.type {
            case .float32, .float16, .bfloat16, .float64:
                var values = [Float](repeating: 0, count: stored.count)
                try values.withUnsafeMutableBufferPointer { try file.readFloats(stored, into: $0) }
                result[name] = TensorValues(shape: stored.shape, floats: values, integers: [])
            case .int64:
                var values = [Int64](repeating: 0, count: stored.count)
                try values.withUnsafeMutableBytes {
                    try file.reader.read(into: $0.baseAddress!, offset: stored.offset, count: stored.byteCount)
                }
                result[name] = TensorValues(shape: stored.shape, floats: [], integers: values.map(Int.init))
            default:
                throw CheckpointError.unsupportedType(name: name, type: stored.type.rawValue)
            }
        }
        return result
    }
}

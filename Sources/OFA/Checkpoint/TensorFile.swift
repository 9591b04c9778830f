// Public reading of a whole small safetensors file (goldens, test inputs) into host arrays.

public struct TensorValues: Sendable {
    public let shape: [Int]
    /// Floating-point tensors as Float, integer tensors as Int (the other array is empty).
    public let floats: [Float]
    public let integers: [Int]
}

public enum TensorFile {
    public static func read(path: String) throws -> [String: TensorValues] {
        let file = try Safetensors.read(path: path)
        var result: [String: TensorValues] = [:]
        for (name, stored) in file.tensors {
            switch stored.type {
            case .float32:
                var values = [Float](repeating: 0, count: stored.count)
                try values.withUnsafeMutableBytes {
                    try file.reader.read(into: $0.baseAddress!, offset: stored.offset, count: stored.byteCount)
                }
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

// Where a tensor's elements lie in a weights file, and in which element type.

enum StoredElementType: String, Sendable {
    case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

    var byteCount: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    var isFloatingPoint: Bool { [.float32, .float16, .bfloat16, .float64].contains(self) }

    /// PyTorch storage class names (`torch.FloatStorage`, …).
    init?(torchStorage name: String) {
        let table: [String: StoredElementType] = [
            "FloatStorage": .float32, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
            "DoubleStorage": .float64, "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16,
            "CharStorage": .int8, "ByteStorage": .uint8, "BoolStorage": .bool,
        ]
        guard let type = table[name] else { return nil }
        self = type
    }

    /// safetensors dtype names.
    init?(safetensors name: String) {
        let table: [String: StoredElementType] = [
            "F32": .float32, "F16": .float16, "BF16": .bfloat16, "F64": .float64, "I64": .int64, "I32": .int32,
            "I16": .int16, "I8": .int8, "U8": .uint8, "BOOL": .bool,
        ]
        guard let type = table[name] else { return nil }
        self = type
    }
}

struct StoredTensor: Sendable {
    let type: StoredElementType
    let shape: [Int]
    /// Byte offset of the first element in the file.
    let offset: Int

    var count: Int { shape.reduce(1, *) }
    var byteCount: Int { count * type.byteCount }
}

/// All tensors of one weights file, by their names in that file.
struct WeightsFile {
    let reader: FileReader
    var tensors: [String: StoredTensor]
}

extension WeightsFile {
    /// Reads a floating-point tensor as Float (fp16/bf16/fp64 converted in small chunks).
    func readFloats(_ stored: StoredTensor, into destination: UnsafeMutableBufferPointer<Float>) throws {
        switch stored.type {
        case .float32:
            try reader.read(
                into: UnsafeMutableRawPointer(destination.baseAddress!), offset: stored.offset,
                count: stored.byteCount)
        case .float16, .bfloat16, .float64:
            let width = stored.type.byteCount
            let chunk = 1 << 20
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: chunk * width, alignment: 8)
            defer { scratch.deallocate() }
            var done = 0
            while done < stored.count {
                let count = min(chunk, stored.count - done)
                try reader.read(into: scratch, offset: stored.offset + done * width, count: count * width)
                let target = destination.baseAddress! + done
                switch stored.type {
                case .float16:
                    let source = scratch.assumingMemoryBound(to: UInt16.self)
                    for i in 0..<count { target[i] = Float(Float16(bitPattern: UInt16(littleEndian: source[i]))) }
                case .bfloat16:
                    let source = scratch.assumingMemoryBound(to: UInt16.self)
                    for i in 0..<count { target[i] = Float(bitPattern: UInt32(UInt16(littleEndian: source[i])) << 16) }
                default:
                    let source = scratch.assumingMemoryBound(to: Double.self)
                    for i in 0..<count { target[i] = Float(source[i]) }
                }
                done += count
            }
        default:
            preconditionFailure("integer tensors are rejected before reading")
        }
    }
}

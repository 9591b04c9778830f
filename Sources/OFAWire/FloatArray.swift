// A float32 tensor on the wire: base64 bytes with explicit dtype, shape and byte order.
import Foundation

public struct FloatArray: Codable, Sendable, Equatable {
    public enum WireError: Error, Equatable {
        case unsupportedDtype(String)
        case unsupportedByteOrder(String)
        case sizeMismatch(bytes: Int, shape: [Int])
    }

    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape does not match the number of values")
        self.shape = shape
        self.values = values
    }

    enum CodingKeys: String, CodingKey {
        case dtype, shape, data
        case byteOrder = "byte_order"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let dtype = try container.decode(String.self, forKey: .dtype)
        guard dtype == "float32" else { throw WireError.unsupportedDtype(dtype) }
        let order = try container.decode(String.self, forKey: .byteOrder)
        guard order == "little" || order == "big" else { throw WireError.unsupportedByteOrder(order) }
        shape = try container.decode([Int].self, forKey: .shape)
        let bytes = try container.decode(BinaryBytes.self, forKey: .data).bytes
        guard let count = shape.checkedProduct(limit: Int.max / 4), bytes.count == count * 4 else {
            throw WireError.sizeMismatch(bytes: bytes.count, shape: shape)
        }
        values = (0..<count).map { index in
            let b = bytes[(index * 4)..<(index * 4 + 4)].map(UInt32.init)
            let bits =
                order == "little"
                ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[3] | b[2] << 8 | b[1] << 16 | b[0] << 24
            return Float(bitPattern: bits)
        }
    }

    /// Always written as little-endian float32.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("float32", forKey: .dtype)
        try container.encode("little", forKey: .byteOrder)
        try container.encode(shape, forKey: .shape)
        var bytes = [UInt8]()
        bytes.reserveCapacity(values.count * 4)
        for value in values {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        try container.encode(BinaryBytes(bytes), forKey: .data)
    }
}

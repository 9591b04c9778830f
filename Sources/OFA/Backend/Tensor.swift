// A dense row-major tensor whose memory belongs to one backend (host memory for the CPU backend).

/// Element types a backend stores.
public enum ElementType: Sendable {
    case float32
    case int32

    public var byteCount: Int { 4 }
}

/// Memory owned by a backend. Layers never touch `address`; only the backend that made it does.
public final class DeviceBuffer: @unchecked Sendable {
    public let address: UnsafeMutableRawPointer
    public let byteCount: Int
    private let release: @Sendable (UnsafeMutableRawPointer) -> Void

    public init(
        address: UnsafeMutableRawPointer, byteCount: Int,
        release: @escaping @Sendable (UnsafeMutableRawPointer) -> Void
    ) {
        self.address = address
        self.byteCount = byteCount
        self.release = release
    }

    deinit { release(address) }
}

/// Shape + element type + buffer. Loaded weights are shared read-only; activations belong to one request.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let elementType: ElementType
    public let buffer: DeviceBuffer

    public init(shape: [Int], elementType: ElementType = .float32, buffer: DeviceBuffer) {
        precondition(shape.reduce(1, *) * elementType.byteCount <= buffer.byteCount, "buffer too small for shape")
        self.shape = shape
        self.elementType = elementType
        self.buffer = buffer
    }

    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }

    /// The same memory seen with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "reshape \(shape) to \(newShape) changes the element count")
        return Tensor(shape: newShape, elementType: elementType, buffer: buffer)
    }
}

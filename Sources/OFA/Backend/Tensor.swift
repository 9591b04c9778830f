// A dense row-major tensor whose memory belongs to one backend (host memory for the CPU backend).

/// Element types a backend stores.
public enum ElementType: Sendable {
    case float32
    case int32
    /// bfloat16 (the upper half of a float32), for weights and products in `Precision.bfloat16`.
    case bfloat16

    public var byteCount: Int { self == .bfloat16 ? 2 : 4 }
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
    /// How the backend laid the elements out when they are not dense row-major (weights it packed for its own
    /// kernels); nil for dense row-major. Only the backend that made it reads it.
    public let layout: (any AnyObject & Sendable)?

    public init(
        shape: [Int], elementType: ElementType = .float32, buffer: DeviceBuffer,
        layout: (any AnyObject & Sendable)? = nil
    ) {
        precondition(shape.reduce(1, *) * elementType.byteCount <= buffer.byteCount, "buffer too small for shape")
        self.shape = shape
        self.elementType = elementType
        self.buffer = buffer
        self.layout = layout
    }

    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }

    /// The same memory seen with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "reshape \(shape) to \(newShape) changes the element count")
        return Tensor(shape: newShape, elementType: elementType, buffer: buffer, layout: layout)
    }
}

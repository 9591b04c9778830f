// A kernel's arguments as cuLaunchKernel takes them: an array of pointers, one to each argument's bytes, each of the
// size its C parameter has (pointers and `long` 8 bytes on Linux x86-64 and on the device, `int` and `float` 4).

public enum KernelArgument: Sendable, Equatable {
    /// A device address (0 is NULL).
    case address(UInt64)
    /// A C `int`.
    case int(Int32)
    /// A C `long`.
    case long(Int)
    case float(Float)

    public static let null = KernelArgument.address(0)

    /// Calls `body` with `void **kernelParams` for `arguments`, valid for the call's duration.
    public static func withParameters<T>(
        _ arguments: [KernelArgument], _ body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>) throws -> T
    ) rethrows -> T {
        // Eight bytes per argument, aligned for any of them.
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(1, arguments.count) * 8, alignment: 8)
        defer { storage.deallocate() }
        let pointers = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(1, arguments.count))
        defer { pointers.deallocate() }
        for (index, argument) in arguments.enumerated() {
            let slot = storage + index * 8
            switch argument {
            case .address(let value): slot.storeBytes(of: value, as: UInt64.self)
            case .int(let value): slot.storeBytes(of: value, as: Int32.self)
            case .long(let value): slot.storeBytes(of: Int64(value), as: Int64.self)
            case .float(let value): slot.storeBytes(of: value, as: Float.self)
            }
            pointers[index] = slot
        }
        return try body(pointers)
    }
}

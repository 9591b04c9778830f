// A HostQueue with hooks, for the CUDA backend's failure and concurrency tests: before each allocation (given the
// count so far and the bytes) and before each piece of the GPU's work (a launch or a product), where a test can
// fail the call as a GPU would, or hold it.
import Foundation
import OFA

public final class HookedQueue: GPUQueue, @unchecked Sendable {
    public let inner: HostQueue
    /// Device allocations so far.
    public let allocations = Locked(0)
    private let beforeAllocate: @Sendable (_ count: Int, _ bytes: Int) throws(CUDAError) -> Void
    private let beforeWork: @Sendable () throws(CUDAError) -> Void
    public var rowLanes: Int { inner.rowLanes }
    public var description: String { "hooked " + inner.description }

    public init(
        _ inner: HostQueue, beforeAllocate: @escaping @Sendable (Int, Int) throws(CUDAError) -> Void = { _, _ in },
        beforeWork: @escaping @Sendable () throws(CUDAError) -> Void = {}
    ) {
        self.inner = inner
        self.beforeAllocate = beforeAllocate
        self.beforeWork = beforeWork
    }

    public func allocate(_ bytes: Int) throws(CUDAError) -> UInt64 {
        let count = allocations.update { $0 += 1 }
        try beforeAllocate(count, bytes)
        return try inner.allocate(bytes)
    }
    public func release(_ address: UInt64) { inner.release(address) }
    public func upload(_ bytes: UnsafeRawPointer, count: Int, to address: UInt64) throws(CUDAError) {
        try inner.upload(bytes, count: count, to: address)
    }
    public func download(_ address: UInt64, count: Int, into bytes: UnsafeMutableRawPointer) throws(CUDAError) {
        try inner.download(address, count: count, into: bytes)
    }
    public func copy(_ from: UInt64, to: UInt64, count: Int) throws(CUDAError) {
        try inner.copy(from, to: to, count: count)
    }
    public func synchronize() throws(CUDAError) { try inner.synchronize() }
    public func fill(_ address: UInt64, word: UInt32, count: Int) throws(CUDAError) {
        try inner.fill(address, word: word, count: count)
    }
    public func launch(_ kernel: String, blocks: Int, threads: Int, _ arguments: [KernelArgument]) throws(CUDAError) {
        try beforeWork()
        try inner.launch(kernel, blocks: blocks, threads: threads, arguments)
    }
    public func multiply(_ product: ColumnMajorProduct) throws(CUDAError) {
        try beforeWork()
        try inner.multiply(product)
    }
}

/// A value several threads read and change.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Value
    public init(_ value: Value) { current = value }
    public var value: Value {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }
    /// Changes the value and returns the new one.
    @discardableResult
    public func update(_ change: (inout Value) -> Void) -> Value {
        lock.withLock {
            change(&current)
            return current
        }
    }
}

// Where the CUDA backend's work goes, in order: a GPU stream with the kernels loaded and a cuBLAS handle
// (CUDAStreamQueue), or in the tests the same kernels compiled for the host with a reference product, so that the
// backend's every call (arguments, strides, launch shapes, cuBLAS's column-major conventions) runs in CI.
import Foundation

/// cublasSgemmStridedBatched's arguments (column-major): `C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b]`, `C`
/// m × n with columns `ldc` apart, op(A) m × k, op(B) k × n; batch entries `stride…` floats apart.
public struct ColumnMajorProduct: Equatable, Sendable {
    public var transposingA: Bool
    public var transposingB: Bool
    public var m: Int, n: Int, k: Int
    public var alpha: Float
    public var a: UInt64, lda: Int, strideA: Int
    public var b: UInt64, ldb: Int, strideB: Int
    public var beta: Float
    public var c: UInt64, ldc: Int, strideC: Int
    public var batch: Int

    /// Row-major `c = alpha · op(a) · op(b) + beta · c` (a [m, k] with rows `lda` floats apart, [k, m] when
    /// transposed; b [k, n] or [n, k]; c [m, n]) as cuBLAS's column-major `cᵀ = op(b)ᵀ · op(a)ᵀ`. Addresses are
    /// device addresses; leading dimensions and strides count floats.
    public static func rowMajor(
        m: Int, n: Int, k: Int, a: UInt64, lda: Int, transposingA: Bool = false, b: UInt64, ldb: Int,
        transposingB: Bool = false, c: UInt64, ldc: Int, alpha: Float = 1, beta: Float = 0, batch: Int = 1,
        strideA: Int = 0, strideB: Int = 0, strideC: Int = 0
    ) -> ColumnMajorProduct {
        ColumnMajorProduct(
            transposingA: transposingB, transposingB: transposingA, m: n, n: m, k: k, alpha: alpha, a: b, lda: ldb,
            strideA: strideB, b: a, ldb: lda, strideB: strideA, beta: beta, c: c, ldc: ldc, strideC: strideC,
            batch: batch)
    }
}

public protocol GPUQueue: AnyObject, Sendable {
    /// Threads that share one row in the row kernels (a warp on a GPU; one on the host).
    var rowLanes: Int { get }
    /// Where the work runs, for logs and status.
    var description: String { get }
    func allocate(_ bytes: Int) throws(CUDAError) -> UInt64
    func release(_ address: UInt64)
    /// Host → device, finished when it returns.
    func upload(_ bytes: UnsafeRawPointer, count: Int, to address: UInt64) throws(CUDAError)
    /// Device → host, after everything queued before it; finished when it returns.
    func download(_ address: UInt64, count: Int, into bytes: UnsafeMutableRawPointer) throws(CUDAError)
    func copy(_ from: UInt64, to: UInt64, count: Int) throws(CUDAError)
    /// Waits for everything queued so far, and reports a failure of any of it.
    func synchronize() throws(CUDAError)
    func fill(_ address: UInt64, word: UInt32, count: Int) throws(CUDAError)
    func launch(_ kernel: String, blocks: Int, threads: Int, _ arguments: [KernelArgument]) throws(CUDAError)
    func multiply(_ product: ColumnMajorProduct) throws(CUDAError)
}

/// One GPU stream: the kernels compiled for its device and loaded, a cuBLAS handle on the stream, memory from the
/// stream-ordered pool.
public final class CUDAStreamQueue: GPUQueue, @unchecked Sendable {
    public let stream: CUDAStream
    let blas: CUDABlas
    let module: CUDAModule
    private var functions: [String: CUDAFunction] = [:]
    private let lock = NSLock()
    private var uploaded = 0
    public var rowLanes: Int { CUDAKernels.rowLanes }
    /// Bytes sent host → device so far (weights at load, then each request's inputs).
    public var uploadedBytes: Int { lock.withLock { uploaded } }
    public var description: String {
        let device = stream.context.device
        return "GPU \(device.ordinal) (\(device.name))"
    }

    /// A new stream and cuBLAS handle, running `module`'s kernels (one module serves every stream of a context).
    public init(context: CUDAContext, module: CUDAModule, tensorFloat32: Bool) throws(CUDAError) {
        stream = try context.makeStream()
        blas = try CUDABlas(stream: stream, tensorFloat32: tensorFloat32)
        self.module = module
        for name in CUDAKernels.entryPoints { functions[name] = try module.function(name) }
    }

    public convenience init(context: CUDAContext, cubin: [UInt8], tensorFloat32: Bool) throws(CUDAError) {
        try self.init(context: context, module: try context.loadModule(cubin), tensorFloat32: tensorFloat32)
    }

    public func allocate(_ bytes: Int) throws(CUDAError) -> UInt64 { try stream.allocate(bytes) }
    public func release(_ address: UInt64) { try? stream.release(address) }

    public func upload(_ bytes: UnsafeRawPointer, count: Int, to address: UInt64) throws(CUDAError) {
        lock.withLock { uploaded += count }
        try stream.upload(bytes, count: count, to: address)
        try stream.synchronize()
    }

    public func download(_ address: UInt64, count: Int, into bytes: UnsafeMutableRawPointer) throws(CUDAError) {
        try stream.download(address, count: count, into: bytes)
        try stream.synchronize()
    }

    public func copy(_ from: UInt64, to: UInt64, count: Int) throws(CUDAError) {
        try stream.copy(from, to: to, count: count)
    }

    public func synchronize() throws(CUDAError) { try stream.synchronize() }

    public func fill(_ address: UInt64, word: UInt32, count: Int) throws(CUDAError) {
        try stream.fill(address, word: word, count: count)
    }

    public func launch(_ kernel: String, blocks: Int, threads: Int, _ arguments: [KernelArgument]) throws(CUDAError) {
        guard let function = functions[kernel] else { throw .noKernel(kernel) }
        try stream.launch(function, blocks: blocks, threads: threads, arguments)
    }

    public func multiply(_ product: ColumnMajorProduct) throws(CUDAError) { try blas.multiply(product) }
}

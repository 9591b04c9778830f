// The CUDA calls made once the libraries are open (CCUDA's tables): a device's primary context, device memory,
// streams with their copies and stream-ordered allocations, kernels loaded from a CUBIN and launched, and cuBLAS
// handles with the single-precision products. Every failure is a typed CUDAError naming the call.
import CCUDA

public enum CUDAError: Error, Equatable, CustomStringConvertible {
    case driver(call: String, code: Int32, message: String)
    /// The device had no room for `bytes` (CUDA_ERROR_OUT_OF_MEMORY): the request fails, the daemon keeps serving.
    case outOfMemory(bytes: Int)
    case blas(call: String, status: Int32)
    case noKernel(String)

    /// CUDA_ERROR_OUT_OF_MEMORY.
    static let outOfMemoryCode: Int32 = 2

    /// CUresult codes after which the context is unusable and every later call fails the same way ("the process
    /// must be terminated and relaunched"): ECC uncorrectable (214), illegal address (700), launch timeout (702),
    /// context destroyed (709), device assert (710), hardware stack error (714), illegal instruction (715),
    /// misaligned address (716), invalid address space (717), invalid PC (718), launch failed (719).
    static let contextLosingCodes: Set<Int32> = [214, 700, 702, 709, 710, 714, 715, 716, 717, 718, 719]

    /// Whether the device's context is lost: the engine cannot serve again until the process restarts.
    public var losesContext: Bool {
        if case .driver(_, let code, _) = self { return CUDAError.contextLosingCodes.contains(code) }
        return false
    }

    public var description: String {
        switch self {
        case .driver(let call, let code, let message): "CUDA \(call) failed: \(message) (\(code))"
        case .outOfMemory(let bytes): "the GPU has no room for \(bytes) more bytes"
        case .blas(let call, let status): "cuBLAS \(call) failed with status \(status)"
        case .noKernel(let name): "the kernels have no \(name)"
        }
    }
}

/// One GPU's primary context (shared with any other user of the device in this process).
public final class CUDAContext: @unchecked Sendable {
    public let device: CUDADevice
    let libraries: CUDALibraries
    private let context: UnsafeMutableRawPointer
    private var driver: ofa_cuda_driver { libraries.driver }

    public init(libraries: CUDALibraries, ordinal: Int) throws(CUDAError) {
        guard let device = libraries.devices.first(where: { $0.ordinal == ordinal }) else {
            throw .driver(call: "cuDeviceGet", code: 101, message: "no GPU \(ordinal)")
        }
        self.device = device
        self.libraries = libraries
        var context: UnsafeMutableRawPointer?
        try CUDAContext.check(
            libraries.driver, "cuDevicePrimaryCtxRetain",
            libraries.driver.primary_context_retain!(&context, Int32(ordinal)))
        guard let context else { throw .driver(call: "cuDevicePrimaryCtxRetain", code: -1, message: "no context") }
        self.context = context
    }

    deinit { _ = driver.primary_context_release!(Int32(device.ordinal)) }

    static func check(_ driver: ofa_cuda_driver, _ call: String, _ result: Int32) throws(CUDAError) {
        guard result != 0 else { return }
        throw .driver(call: call, code: result, message: CUDALibraries.errorText(driver, result))
    }

    func check(_ call: String, _ result: Int32) throws(CUDAError) { try CUDAContext.check(driver, call, result) }

    /// Makes the context the calling thread's current one (the driver's calls act on it).
    func makeCurrent() throws(CUDAError) { try check("cuCtxSetCurrent", driver.context_set_current!(context)) }

    /// Free and total device memory.
    public func memory() throws(CUDAError) -> (free: Int, total: Int) {
        try makeCurrent()
        var free = 0
        var total = 0
        try check("cuMemGetInfo_v2", driver.memory_info!(&free, &total))
        return (free, total)
    }

    /// Device memory of its own, outside any stream's pool (where the device has no pools).
    public func allocate(_ bytes: Int) throws(CUDAError) -> UInt64 {
        try makeCurrent()
        var address: ofa_device_address = 0
        let result = driver.allocate!(&address, max(bytes, 1))
        if result == CUDAError.outOfMemoryCode { throw .outOfMemory(bytes: bytes) }
        try check("cuMemAlloc_v2", result)
        return address
    }

    public func release(_ address: UInt64) {
        guard (try? makeCurrent()) != nil else { return }
        _ = driver.release!(address)
    }

    public func synchronize() throws(CUDAError) {
        try makeCurrent()
        try check("cuCtxSynchronize", driver.context_synchronize!())
    }

    /// Lets the device's stream-ordered pool keep up to `bytes` of freed memory for the next allocations instead of
    /// returning it at every synchronisation (its default): one request's activations serve the next.
    public func keepFreedMemory(_ bytes: UInt64) throws(CUDAError) {
        try makeCurrent()
        var pool: UnsafeMutableRawPointer?
        try check("cuDeviceGetDefaultMemPool", driver.default_memory_pool!(&pool, Int32(device.ordinal)))
        var value = bytes
        try check(
            "cuMemPoolSetAttribute",
            driver.memory_pool_set_attribute!(pool, OFA_CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &value))
    }

    public func makeStream() throws(CUDAError) -> CUDAStream { try CUDAStream(context: self) }

    public func loadModule(_ cubin: [UInt8]) throws(CUDAError) -> CUDAModule {
        try CUDAModule(context: self, cubin: cubin)
    }
}

/// A stream: its work runs in order, other streams' alongside.
public final class CUDAStream: @unchecked Sendable {
    public let context: CUDAContext
    let stream: UnsafeMutableRawPointer
    private var driver: ofa_cuda_driver { context.libraries.driver }

    init(context: CUDAContext) throws(CUDAError) {
        self.context = context
        try context.makeCurrent()
        let driver = context.libraries.driver
        var device: Int32 = 0
        var supported: Int32 = 0
        try context.check("cuDeviceGet", driver.device_get!(&device, Int32(context.device.ordinal)))
        try context.check(
            "cuDeviceGetAttribute",
            driver.device_attribute!(&supported, OFA_CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED, device))
        pooled = supported != 0
        var stream: UnsafeMutableRawPointer?
        // CU_STREAM_NON_BLOCKING: no implicit ordering with the legacy default stream.
        try context.check("cuStreamCreate", context.libraries.driver.stream_create!(&stream, 1))
        guard let stream else { throw .driver(call: "cuStreamCreate", code: -1, message: "no stream") }
        self.stream = stream
    }

    deinit {
        if (try? context.makeCurrent()) != nil { _ = driver.stream_destroy!(stream) }
    }

    /// Whether the device has stream-ordered pools; where it has not, plain allocations, freed after the stream's
    /// work.
    private let pooled: Bool

    /// Stream-ordered memory from the device's pool: usable by this stream's later work, returned by `release`.
    public func allocate(_ bytes: Int) throws(CUDAError) -> UInt64 {
        guard pooled else { return try context.allocate(bytes) }
        try context.makeCurrent()
        var address: ofa_device_address = 0
        let result = driver.allocate_async!(&address, max(bytes, 1), stream)
        if result == CUDAError.outOfMemoryCode { throw .outOfMemory(bytes: bytes) }
        try context.check("cuMemAllocAsync", result)
        return address
    }

    public func release(_ address: UInt64) throws(CUDAError) {
        try context.makeCurrent()
        guard pooled else {
            try synchronize()
            return context.release(address)
        }
        try context.check("cuMemFreeAsync", driver.release_async!(address, stream))
    }

    /// Host → device; the host bytes must stay valid until the stream reaches the copy (`synchronize`).
    public func upload(_ bytes: UnsafeRawPointer, count: Int, to address: UInt64) throws(CUDAError) {
        try context.makeCurrent()
        try context.check("cuMemcpyHtoDAsync_v2", driver.upload_async!(address, bytes, count, stream))
    }

    /// Device → host; the bytes are there after `synchronize`.
    public func download(_ address: UInt64, count: Int, into bytes: UnsafeMutableRawPointer) throws(CUDAError) {
        try context.makeCurrent()
        try context.check("cuMemcpyDtoHAsync_v2", driver.download_async!(bytes, address, count, stream))
    }

    public func copy(_ from: UInt64, to: UInt64, count: Int) throws(CUDAError) {
        try context.makeCurrent()
        try context.check("cuMemcpyDtoDAsync_v2", driver.copy_async!(to, from, count, stream))
    }

    /// `count` 32-bit words at `address` set to `word` (0 for zeros in float32).
    public func fill(_ address: UInt64, word: UInt32, count: Int) throws(CUDAError) {
        try context.makeCurrent()
        try context.check("cuMemsetD32Async", driver.set_async!(address, word, count, stream))
    }

    public func synchronize() throws(CUDAError) {
        try context.makeCurrent()
        try context.check("cuStreamSynchronize", driver.stream_synchronize!(stream))
    }

    /// Launches `function` over `blocks` 1-D blocks of `threads`.
    public func launch(
        _ function: CUDAFunction, blocks: Int, threads: Int, _ arguments: [KernelArgument]
    ) throws(CUDAError) {
        try context.makeCurrent()
        precondition(blocks > 0 && blocks < 1 << 31 && threads > 0 && threads <= 1024, "launch \(blocks) × \(threads)")
        let result = KernelArgument.withParameters(arguments) { parameters in
            driver.launch!(
                function.pointer, UInt32(blocks), 1, 1, UInt32(threads), 1, 1, 0, stream, parameters, nil)
        }
        try context.check("cuLaunchKernel(\(function.name))", result)
    }
}

/// Kernels loaded from a CUBIN for this context's device.
public final class CUDAModule: @unchecked Sendable {
    let context: CUDAContext
    private let module: UnsafeMutableRawPointer

    init(context: CUDAContext, cubin: [UInt8]) throws(CUDAError) {
        self.context = context
        try context.makeCurrent()
        var module: UnsafeMutableRawPointer?
        let result = cubin.withUnsafeBytes { context.libraries.driver.module_load!(&module, $0.baseAddress) }
        try context.check("cuModuleLoadData", result)
        guard let module else { throw .driver(call: "cuModuleLoadData", code: -1, message: "no module") }
        self.module = module
    }

    deinit {
        if (try? context.makeCurrent()) != nil { _ = context.libraries.driver.module_unload!(module) }
    }

    public func function(_ name: String) throws(CUDAError) -> CUDAFunction {
        try context.makeCurrent()
        var function: UnsafeMutableRawPointer?
        let result = name.withCString { context.libraries.driver.module_function!(&function, module, $0) }
        guard result == 0, let function else { throw .noKernel(name) }
        return CUDAFunction(name: name, pointer: function)
    }
}

public struct CUDAFunction: @unchecked Sendable {
    public let name: String
    let pointer: UnsafeMutableRawPointer
}

/// A cuBLAS handle bound to one stream, in strict float32 (pedantic: no TF32, no reduced-precision reductions) or
/// TF32 tensor-core math.
public final class CUDABlas: @unchecked Sendable {
    public let stream: CUDAStream
    private let handle: UnsafeMutableRawPointer
    private var blas: ofa_cuda_blas { stream.context.libraries.blas }

    public init(stream: CUDAStream, tensorFloat32: Bool) throws(CUDAError) {
        self.stream = stream
        try stream.context.makeCurrent()
        let blas = stream.context.libraries.blas
        var handle: UnsafeMutableRawPointer?
        let created = blas.create!(&handle)
        guard created == 0, let handle else { throw .blas(call: "cublasCreate_v2", status: created) }
        self.handle = handle
        let bound = blas.set_stream!(handle, stream.stream)
        guard bound == 0 else { throw .blas(call: "cublasSetStream_v2", status: bound) }
        let mode = tensorFloat32 ? OFA_CUBLAS_TF32_TENSOR_OP_MATH : OFA_CUBLAS_PEDANTIC_MATH
        let set = blas.set_math_mode!(handle, mode)
        guard set == 0 else { throw .blas(call: "cublasSetMathMode", status: set) }
    }

    deinit {
        if (try? stream.context.makeCurrent()) != nil { _ = blas.destroy!(handle) }
    }

    /// cublasSgemm_v2, or cublasSgemmStridedBatched for a batch.
    public func multiply(_ p: ColumnMajorProduct) throws(CUDAError) {
        try stream.context.makeCurrent()
        var alpha = p.alpha
        var beta = p.beta
        let opA = p.transposingA ? OFA_CUBLAS_OP_T : OFA_CUBLAS_OP_N
        let opB = p.transposingB ? OFA_CUBLAS_OP_T : OFA_CUBLAS_OP_N
        func floats(_ address: UInt64) -> UnsafeMutablePointer<Float>? {
            UnsafeMutablePointer(bitPattern: UInt(address))
        }
        let status: Int32
        if p.batch == 1 {
            status = blas.sgemm!(
                handle, opA, opB, Int32(p.m), Int32(p.n), Int32(p.k), &alpha, floats(p.a), Int32(p.lda), floats(p.b),
                Int32(p.ldb), &beta, floats(p.c), Int32(p.ldc))
        } else {
            status = blas.sgemm_strided_batched!(
                handle, opA, opB, Int32(p.m), Int32(p.n), Int32(p.k), &alpha, floats(p.a), Int32(p.lda),
                Int64(p.strideA), floats(p.b), Int32(p.ldb), Int64(p.strideB), &beta, floats(p.c), Int32(p.ldc),
                Int64(p.strideC), Int32(p.batch))
        }
        guard status == 0 else {
            throw .blas(call: p.batch == 1 ? "cublasSgemm_v2" : "cublasSgemmStridedBatched", status: status)
        }
    }
}

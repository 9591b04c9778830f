// A CUDA backend made for one GPU: the libraries opened, the kernels compiled for its exact architecture (or read
// from the kernel cache), a stream with its cuBLAS handle per lane; and what status reports about it.
import Foundation

extension CUDABackend {
    /// Freed activation memory the device's pool keeps for the next request (OFA-large's forward pass peaks well
    /// below it; a relevance request's trace is about 1.4 GB).
    public static let keptFreedBytes: UInt64 = 2 << 30

    /// The CUDA backend on GPU `ordinal` with `lanes` streams (one per request run at once), its kernels kept in
    /// `cacheDirectory` when one is given (a cache that cannot be written is only slower: the kernels are compiled
    /// each start).
    public static func make(
        search: CUDASearchPath, ordinal: Int, precision: Precision, cacheDirectory: String?, lanes: Int = 1
    ) throws -> CUDABackend {
        precondition(lanes >= 1, "\(lanes) lanes")
        let libraries = try CUDALibraries(search: search)
        let context = try CUDAContext(libraries: libraries, ordinal: ordinal)
        // Only slower where the device has no stream-ordered pool (then plain allocations are used).
        try? context.keepFreedMemory(CUDABackend.keptFreedBytes)
        let architecture = context.device.architecture
        let compilation: CUDACompilation
        if let cacheDirectory {
            compilation = try KernelCache(directory: cacheDirectory).compilation(
                CUDAKernels.source, name: CUDAKernels.fileName, architecture: architecture,
                compiler: libraries.compiler)
        } else {
            compilation = try libraries.compiler.compile(
                CUDAKernels.source, name: CUDAKernels.fileName, architecture: architecture)
        }
        let module = try context.loadModule(compilation.cubin)
        let queues = try (0..<lanes).map { _ in
            try CUDAStreamQueue(context: context, module: module, tensorFloat32: precision == .tensorFloat32)
        }
        let backend = try CUDABackend(queues: queues, precision: precision)
        backend.report = CUDADeviceReport(libraries: libraries, context: context, streams: lanes)
        return backend
    }
}

/// What status, health and metrics say about the GPU.
public final class CUDADeviceReport: @unchecked Sendable {
    public let driverVersion: String
    public let blasVersion: String
    public let compilerVersion: String
    private let context: CUDAContext
    /// The backend's lanes.
    public let streams: Int
    /// Device memory in use when the model had loaded, minus what was in use before.
    public var modelBytes = 0
    private let baseline: Int

    public var device: CUDADevice { context.device }

    init(libraries: CUDALibraries, context: CUDAContext, streams: Int) {
        self.streams = streams
        driverVersion = CUDALibraries.versionText(libraries.driverVersion)
        blasVersion = libraries.blasVersion
        compilerVersion = libraries.compiler.version
        self.context = context
        let memory = try? context.memory()
        baseline = memory.map { $0.total - $0.free } ?? 0
    }

    /// Device memory in use and in total (nil when the driver cannot say).
    public var memory: (used: Int, total: Int)? {
        (try? context.memory()).map { ($0.total - $0.free, $0.total) }
    }

    /// Records the model's share once it has loaded.
    public func modelLoaded() { modelBytes = max(0, (memory?.used ?? baseline) - baseline) }

    /// "cuda:0 NVIDIA H200 (compute 9.0, sm_90; driver 13.0, cuBLAS 13.1.0, NVRTC 13.5; 2 streams; model 1.9 GiB,
    /// 2.3 of 139.8 GiB in use)", with the memory figures given (`memory`'s, read once by the caller).
    public func summary(memory: (used: Int, total: Int)?) -> String {
        func gib(_ bytes: Int) -> String { String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
        var text =
            "cuda:\(device.ordinal) \(device.name) (compute \(device.computeCapability.major)."
            + "\(device.computeCapability.minor), \(device.architecture); driver \(driverVersion), cuBLAS "
            + "\(blasVersion), NVRTC \(compilerVersion); \(streams) stream\(streams == 1 ? "" : "s"); model "
            + gib(modelBytes)
        if let memory { text += ", \(gib(memory.used)) of \(gib(memory.total)) in use" }
        return text + ")"
    }
}

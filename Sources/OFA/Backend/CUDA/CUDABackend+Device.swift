// A CUDA backend made for one GPU: the libraries opened, the kernels compiled for its exact architecture (or read
// from the kernel cache), a stream with its cuBLAS handle; and what status reports about it.
import Foundation

extension CUDABackend {
    /// Freed activation memory the device's pool keeps for the next request (OFA-large's forward pass peaks well
    /// below it; a relevance request's trace is about 1.4 GB).
    public static let keptFreedBytes: UInt64 = 2 << 30

    /// The CUDA backend on GPU `ordinal`, its kernels kept in `cacheDirectory` when one is given (a cache that
    /// cannot be written is only slower: the kernels are compiled each start).
    public static func make(
        search: CUDASearchPath, ordinal: Int, precision: Precision, cacheDirectory: String?
    ) throws -> CUDABackend {
        let libraries = try CUDALibraries(search: search)
        let context = try CUDAContext(libraries: libraries, ordinal: ordinal)
        // Only slower where the device has no stream-ordered pool (then plain allocations are used).
        try? context.keepFreedMemory(CUDABackend.keptFreedBytes)
        let capability = context.device.computeCapability
        let architecture = "sm_\(capability.major)\(capability.minor)"
        let started = Date()
        let compilation: CUDACompilation
        if let cacheDirectory {
            compilation = try KernelCache(directory: cacheDirectory).compilation(
                CUDAKernels.source, name: "ofad_kernels.cu", architecture: architecture, compiler: libraries.compiler)
        } else {
            compilation = try libraries.compiler.compile(
                CUDAKernels.source, name: "ofad_kernels.cu", architecture: architecture)
        }
        let queue = try CUDAStreamQueue(
            context: context, cubin: compilation.cubin, tensorFloat32: precision == .tensorFloat32)
        let backend = try CUDABackend(queue: queue, precision: precision)
        backend.report = CUDADeviceReport(
            libraries: libraries, device: context.device, architecture: architecture,
            kernelSeconds: Date().timeIntervalSince(started), context: context)
        return backend
    }
}

/// What status, health and metrics say about the GPU.
public final class CUDADeviceReport: @unchecked Sendable {
    public let device: CUDADevice
    public let architecture: String
    public let driverVersion: String
    public let blasVersion: String
    public let compilerVersion: String
    /// Compiling (or reading) the kernels and loading them.
    public let kernelSeconds: Double
    private let context: CUDAContext
    /// Device memory in use when the model had loaded, minus what was in use before.
    public var modelBytes = 0
    private let baseline: Int

    init(
        libraries: CUDALibraries, device: CUDADevice, architecture: String, kernelSeconds: Double,
        context: CUDAContext
    ) {
        self.device = device
        self.architecture = architecture
        driverVersion = CUDALibraries.versionText(libraries.driverVersion)
        blasVersion = libraries.blasVersion
        compilerVersion = libraries.compiler.version
        self.kernelSeconds = kernelSeconds
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

    /// "cuda:0 NVIDIA H200 (compute 9.0, sm_90; driver 13.0, cuBLAS 13.1.0, NVRTC 13.5; model 1.9 GiB, 2.3 of
    /// 139.8 GiB in use)".
    public var summary: String {
        func gib(_ bytes: Int) -> String { String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
        var text =
            "cuda:\(device.ordinal) \(device.name) (compute \(device.computeCapability.major)."
            + "\(device.computeCapability.minor), \(architecture); driver \(driverVersion), cuBLAS \(blasVersion), "
            + "NVRTC \(compilerVersion); model \(gib(modelBytes))"
        if let memory { text += ", \(gib(memory.used)) of \(gib(memory.total)) in use" }
        return text + ")"
    }
}

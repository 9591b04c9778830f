// The GPU part of `status`: what the CUDA engine reports about its device.

/// The GPU the engine runs on, for status and metrics.
public struct GPUStatus: Codable, Sendable, Equatable {
    public var ordinal: Int
    public var name: String
    /// "9.0".
    public var computeCapability: String
    /// The kernels' architecture ("sm_90").
    public var architecture: String
    public var driverVersion: String
    public var blasVersion: String
    public var compilerVersion: String
    /// Device memory the model took at load, and what the device has in use and in all.
    public var modelBytes: Int
    public var usedBytes: Int?
    public var totalBytes: Int?
    /// Streams, each with its cuBLAS handle: requests the GPU runs side by side (one per worker).
    public var streams: Int?

    public init(
        ordinal: Int, name: String, computeCapability: String, architecture: String, driverVersion: String,
        blasVersion: String, compilerVersion: String, modelBytes: Int, usedBytes: Int?, totalBytes: Int?,
        streams: Int? = nil
    ) {
        self.ordinal = ordinal
        self.name = name
        self.computeCapability = computeCapability
        self.architecture = architecture
        self.driverVersion = driverVersion
        self.blasVersion = blasVersion
        self.compilerVersion = compilerVersion
        self.modelBytes = modelBytes
        self.usedBytes = usedBytes
        self.totalBytes = totalBytes
        self.streams = streams
    }

    enum CodingKeys: String, CodingKey {
        case ordinal, name, architecture, streams
        case computeCapability = "compute_capability"
        case driverVersion = "driver_version"
        case blasVersion = "cublas_version"
        case compilerVersion = "nvrtc_version"
        case modelBytes = "model_bytes"
        case usedBytes = "used_bytes"
        case totalBytes = "total_bytes"
    }
}

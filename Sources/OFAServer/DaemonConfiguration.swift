// Everything ofad can be told: each default is written once on the type, and each option, environment variable,
// help line and check once in `settings`.
import Foundation
import OFA
import ServiceSettings

public enum Device: Sendable, Equatable {
    case cpu
    /// GPU `ordinal` as the CUDA driver numbers them (`cuda` is `cuda:0`).
    case cuda(Int)
    case auto

    /// "cpu", "auto", "cuda" or "cuda:N".
    public init?(rawValue: String) {
        switch rawValue {
        case "cpu": self = .cpu
        case "auto": self = .auto
        case "cuda": self = .cuda(0)
        default:
            let number = rawValue.dropFirst("cuda:".count)
            guard rawValue.hasPrefix("cuda:"), let ordinal = Int(number), ordinal >= 0, ordinal < 1024,
                String(ordinal) == number
            else { return nil }
            self = .cuda(ordinal)
        }
    }

    public var rawValue: String {
        switch self {
        case .cpu: "cpu"
        case .auto: "auto"
        case .cuda(0): "cuda"
        case .cuda(let ordinal): "cuda:\(ordinal)"
        }
    }

    static let parse: @Sendable (String) throws -> Device = { text in
        guard let device = Device(rawValue: text) else { throw SettingValueError("not cpu, cuda, cuda:N or auto") }
        return device
    }

    /// The device actually used, and why `auto` chose it. CUDA's libraries are looked for along `search` and the
    /// driver asked for its GPUs: `cuda` without them (or without that GPU) is refused, naming what is missing (a
    /// library, with every place searched, an entry point, a GPU); `auto` then means the CPU, and otherwise GPU 0.
    /// `modelBytes`: the weights file's size; a GPU with less memory than that plus `workingBytes` is refused too.
    public func resolved(search: CUDASearchPath, modelBytes: Int = 0) throws -> (device: Device, reason: String?) {
        guard self != .cpu else { return (.cpu, nil) }
        let libraries: CUDALibraries
        do {
            libraries = try CUDALibraries(search: search)
        } catch {
            if self == .auto { return (.cpu, "no usable GPU: \(error); using the CPU") }
            throw SettingError.conflict("invalid --device \(rawValue): \(error)")
        }
        let ordinal = if case .cuda(let ordinal) = self { ordinal } else { 0 }
        guard let gpu = libraries.devices.first(where: { $0.ordinal == ordinal }) else {
            throw SettingError.conflict(
                "invalid --device \(rawValue): \(libraries.summary); there is no GPU \(ordinal)")
        }
        if let problem = Device.lacksRoom(name: gpu.name, memoryBytes: gpu.memoryBytes, modelBytes: modelBytes) {
            if self == .auto { return (.cpu, "\(problem); using the CPU") }
            throw SettingError.conflict("invalid --device \(rawValue): \(problem)")
        }
        return (.cuda(ordinal), self == .auto ? "\(libraries.summary); using GPU 0" : nil)
    }

    /// Device memory kept beyond the weights for one request's activations and cuBLAS's workspace.
    public static let workingBytes = 1 << 30

    /// Why a GPU of `memoryBytes` cannot hold a model whose weights file is `modelBytes` (nil when it can).
    public static func lacksRoom(name: String, memoryBytes: Int, modelBytes: Int) -> String? {
        guard modelBytes > 0, memoryBytes < modelBytes + workingBytes else { return nil }
        func gib(_ bytes: Int) -> String { String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
        return "the GPU (\(name), \(gib(memoryBytes))) has too little memory for this model: its weights need about "
            + "\(gib(modelBytes)) and a request about \(gib(workingBytes)) more"
    }
}

public enum LoadFailurePolicy: String, Sendable, CaseIterable {
    /// Keep serving, answering health "failed" (handy by hand: the reason can be asked for).
    case serve
    /// Exit with status 1 (under systemd, so the unit fails visibly and Restart= applies).
    case exit
}

public struct DaemonConfiguration: Sendable, Equatable {
    public var modelDirectory = "/var/lib/ofad/model"
    public var socketPath = "/run/ofad/ofad.sock"
    /// Threads for the engine's own parallelism; 0 means one per core.
    public var threads = 0
    public var device = Device.auto
    /// Directories searched first for CUDA's libraries (`:`-separated).
    public var cudaLibraryPath = ""
    /// Compiled GPU kernels' directory (empty: see `kernelCacheDirectory`).
    public var cacheDirectory = ""
    /// The engine's arithmetic; which values a device offers is checked at start.
    public var precision = Precision.float32
    /// bf16's close calls: answers whose top two probabilities are closer than this are scored again on image
    /// features made with float32 convolution inputs; 0 never.
    public var closeCallMargin = Double(CloseCall.defaultMargin)
    /// Requests the engine runs at once (each one uses `threads`).
    public var workers = 1
    public var maximumFrameLength = 32 << 20
    public var maximumImagePixels = 40_000_000
    /// Characters per hypothesis or premise: only abusive sizes are refused; the engine keeps the first
    /// max_src_length tokens of anything longer, as the reference does.
    public var maximumTextLength = 65_536
    public var maximumHypotheses = 64
    public var queueCapacity = 256
    public var requestTimeoutSeconds = 60.0
    public var maximumConnections = 256
    /// Most open connections from one user id (the peer's SO_PEERCRED), so one user cannot take every slot.
    public var maximumConnectionsPerUser = 128
    /// A connection with nothing in flight and no bytes received (or one whose answers the client does not read)
    /// for this long is closed.
    public var idleTimeoutSeconds = 300.0
    /// A request frame must arrive whole within this many seconds of its first byte (slow senders are cut off).
    public var frameTimeoutSeconds = 30.0
    /// Bytes of answers a connection may have waiting to be sent before ofad stops reading its requests.
    public var maximumUnsentBytes = 8 << 20
    /// Directories whose files may be named by path in requests; none by default.
    public var imageRoots: [String] = []
    public var logLevel = "info"
    /// How long SIGTERM waits for queued and running requests before answering the rest with "shutting down".
    public var drainTimeoutSeconds = 20.0
    /// Longest model load (and warm-up) that ofad asks systemd to wait for.
    public var loadTimeoutSeconds = 600.0
    /// Bytes of image features (backbone output) kept for reuse; 0 turns the image cache off.
    public var imageCacheBytes = 256 << 20
    public var resultCacheEntries = 4096
    public var onLoadFailure = LoadFailurePolicy.serve

    public init() {}
}

extension DaemonConfiguration {
    /// Every ofad setting once: option, environment variable, help and validation; defaults are the properties'.
    public static let settings = SettingsTable(
        defaults: DaemonConfiguration(),
        [
            Setting(
                "model-dir", environment: "OFAD_MODEL_DIR", \.modelDirectory, summary: "Model directory.",
                parse: SettingParser.text),
            Setting(
                "socket", environment: "OFAD_SOCKET", \.socketPath,
                summary: "Socket path (ignored when systemd passes a socket).", parse: SettingParser.text),
            Setting(
                "threads", environment: "OFAD_THREADS", \.threads, summary: "Engine threads, 0 = one per core.",
                parse: SettingParser.integer(minimum: 0)),
            Setting(
                "device", environment: "OFAD_DEVICE", \.device,
                summary:
                    "cpu, cuda (GPU 0), cuda:N or auto (the first GPU where CUDA's libraries and a GPU are found, "
                    + "else the CPU, saying why); cuda fails to start, naming what it lacks.",
                parse: Device.parse, show: \.rawValue),
            Setting(
                "cuda-library-path", environment: CUDASearchPath.environmentVariable, \.cudaLibraryPath,
                summary:
                    "Directories (:-separated) searched first for libcuda.so.1, cuBLAS and NVRTC, e.g. pip's "
                    + "site-packages/nvidia/cu13/lib; then the dynamic linker's search, then /usr/local/cuda.",
                parse: SettingParser.text),
            Setting(
                "precision", environment: "OFAD_PRECISION", \.precision,
                summary:
                    "fp32 (exact, the default), bf16 (CPUs with AVX512-BF16 or AMX: about twice as fast, half the "
                    + "memory) or tf32 (GPU: TensorFloat-32 products, about 1e-3 from fp32).",
                parse: SettingParser.choice(Precision.self), show: \.rawValue),
            Setting(
                "close-call-margin", environment: "OFAD_CLOSE_CALL_MARGIN", \.closeCallMargin,
                summary:
                    "bf16: an answer whose top two probabilities are closer than this is scored again on image "
                    + "features made with float32 convolution inputs (about one more backbone and forward pass); "
                    + "0 never.",
                parse: SettingParser.fraction, show: SettingParser.number),
            Setting(
                "workers", environment: "OFAD_WORKERS", \.workers, summary: "Requests the engine runs at once.",
                parse: SettingParser.integer(minimum: 1)),
            Setting(
                "max-frame-bytes", environment: "OFAD_MAX_FRAME_BYTES", \.maximumFrameLength,
                summary: "Largest request frame.", parse: SettingParser.integer(minimum: 64)),
            Setting(
                "max-image-pixels", environment: "OFAD_MAX_IMAGE_PIXELS", \.maximumImagePixels,
                summary: "Largest image, width×height.", parse: SettingParser.integer(minimum: 1)),
            Setting(
                "max-text-length", environment: "OFAD_MAX_TEXT_LENGTH", \.maximumTextLength,
                summary:
                    "Longest hypothesis or premise, characters (longer prompts are cut to max_src_length tokens, as "
                    + "the reference does; this only refuses abusive sizes).",
                parse: SettingParser.integer(minimum: 1)),
            Setting(
                "max-hypotheses", environment: "OFAD_MAX_HYPOTHESES", \.maximumHypotheses,
                summary: "Most hypotheses in one predict.", parse: SettingParser.integer(minimum: 1)),
            Setting(
                "queue-length", environment: "OFAD_QUEUE_LENGTH", \.queueCapacity,
                summary: "Most requests waiting; more are answered busy.", parse: SettingParser.integer(minimum: 1)),
            Setting(
                "request-timeout", environment: "OFAD_REQUEST_TIMEOUT", \.requestTimeoutSeconds,
                summary: "Seconds before a request is answered timed out.", parse: SettingParser.seconds,
                show: SettingParser.number),
            Setting(
                "max-connections", environment: "OFAD_MAX_CONNECTIONS", \.maximumConnections,
                summary: "Most open connections.", parse: SettingParser.integer(minimum: 1)),
            Setting(
                "max-connections-per-user", environment: "OFAD_MAX_CONNECTIONS_PER_USER",
                \.maximumConnectionsPerUser, summary: "Most open connections from one user id.",
                parse: SettingParser.integer(minimum: 1)),
            Setting(
                "idle-timeout", environment: "OFAD_IDLE_TIMEOUT", \.idleTimeoutSeconds,
                summary: "Seconds a connection may stay idle (or leave its answers unread) before it is closed.",
                parse: SettingParser.seconds, show: SettingParser.number),
            Setting(
                "frame-timeout", environment: "OFAD_FRAME_TIMEOUT", \.frameTimeoutSeconds,
                summary: "Seconds a request frame may take to arrive from its first byte.",
                parse: SettingParser.seconds, show: SettingParser.number),
            Setting(
                "max-unsent-bytes", environment: "OFAD_MAX_UNSENT_BYTES", \.maximumUnsentBytes,
                summary: "Bytes of unsent answers a connection may hold before ofad stops reading from it.",
                parse: SettingParser.integer(minimum: 4096)),
            Setting(
                "image-root", environment: "OFAD_IMAGE_ROOTS", \.imageRoots,
                summary: "Directory whose files may be named by path; repeatable (the variable: ':'-separated).",
                parse: { $0.split(separator: ":").map(String.init) }, show: { $0.joined(separator: ":") }),
            Setting(
                "drain-timeout", environment: "OFAD_DRAIN_TIMEOUT", \.drainTimeoutSeconds,
                summary: "Seconds SIGTERM waits for in-flight requests.", parse: SettingParser.seconds,
                show: SettingParser.number),
            Setting(
                "load-timeout", environment: "OFAD_LOAD_TIMEOUT", \.loadTimeoutSeconds,
                summary: "Longest load systemd is asked to wait for.", parse: SettingParser.seconds,
                show: SettingParser.number),
            Setting(
                "image-cache-bytes", environment: "OFAD_IMAGE_CACHE_BYTES", \.imageCacheBytes,
                summary: "Bytes of image features kept for reuse, 0 = no image cache.",
                parse: SettingParser.integer(minimum: 0)),
            Setting(
                "on-load-failure", environment: "OFAD_ON_LOAD_FAILURE", \.onLoadFailure,
                summary: "serve (answer health: failed) or exit (status 1).",
                parse: SettingParser.choice(LoadFailurePolicy.self), show: \.rawValue),
            Setting(
                "cache-dir", environment: "OFAD_CACHE_DIR", \.cacheDirectory,
                summary:
                    "Where compiled GPU kernels are kept between starts; empty: systemd's $CACHE_DIRECTORY, else "
                    + "$XDG_CACHE_HOME/ofad or ~/.cache/ofad.",
                parse: SettingParser.text),
            Setting(
                "log-level", environment: "OFAD_LOG_LEVEL", \.logLevel,
                summary: "trace, debug, info, notice, warning, error or critical.",
                parse: SettingParser.logLevel),
        ])

    /// The kernel cache's directory: the setting, else systemd's CacheDirectory= ($CACHE_DIRECTORY, the first of
    /// its `:`-separated list), else the user's cache; nil when none can be named.
    public func kernelCacheDirectory(environment: [String: String]) -> String? {
        if !cacheDirectory.isEmpty { return cacheDirectory }
        if let systemd = environment["CACHE_DIRECTORY"]?.split(separator: ":").first { return String(systemd) }
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/ofad" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.cache/ofad" }
        return nil
    }

    /// Where CUDA's libraries are looked for.
    public var cudaSearch: CUDASearchPath {
        CUDASearchPath(environment: [CUDASearchPath.environmentVariable: cudaLibraryPath])
    }

    /// Defaults, then the OFAD_* variables, then the command line (option name → value).
    public static func resolve(commandLine: [String: String] = [:], environment: [String: String]) throws
        -> DaemonConfiguration
    {
        try settings.resolve(commandLine: commandLine, environment: environment)
    }
}

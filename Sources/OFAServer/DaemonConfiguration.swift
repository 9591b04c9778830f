// Everything ofad can be told: each setting's default and environment variable are written here once.

public enum Device: String, Sendable, CaseIterable {
    case cpu, cuda, auto

    /// The device actually used. There is no GPU backend yet: `cuda` is refused and `auto` means the CPU.
    public func resolved() throws -> Device {
        switch self {
        case .cpu, .auto: return .cpu
        case .cuda:
            throw ConfigurationError.invalid(
                key: "device", why: "cuda: this build has no GPU backend (use cpu or auto)")
        }
    }
}

public enum LoadFailurePolicy: String, Sendable, CaseIterable {
    /// Keep serving, answering health "failed" (handy by hand: the reason can be asked for).
    case serve
    /// Exit with status 1 (under systemd, so the unit fails visibly and Restart= applies).
    case exit
}

public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
    case invalid(key: String, why: String)
    public var description: String {
        switch self {
        case .invalid(let key, let why): return "invalid \(key): \(why)"
        }
    }
}

public struct DaemonConfiguration: Sendable, Equatable {
    public var modelDirectory = "/var/lib/ofad/model"
    public var socketPath = "/run/ofad/ofad.sock"
    /// Threads for the engine's own parallelism; 0 means one per core.
    public var threads = 0
    public var device = Device.auto
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

    /// Environment variables, one per setting (lists separated by ':').
    public static let environmentKeys: [String: String] = [
        "model-dir": "OFAD_MODEL_DIR", "socket": "OFAD_SOCKET", "threads": "OFAD_THREADS", "device": "OFAD_DEVICE",
        "workers": "OFAD_WORKERS", "max-frame-bytes": "OFAD_MAX_FRAME_BYTES",
        "max-image-pixels": "OFAD_MAX_IMAGE_PIXELS",
        "max-text-length": "OFAD_MAX_TEXT_LENGTH", "max-hypotheses": "OFAD_MAX_HYPOTHESES",
        "queue-length": "OFAD_QUEUE_LENGTH", "request-timeout": "OFAD_REQUEST_TIMEOUT",
        "max-connections": "OFAD_MAX_CONNECTIONS", "image-root": "OFAD_IMAGE_ROOTS", "log-level": "OFAD_LOG_LEVEL",
        "drain-timeout": "OFAD_DRAIN_TIMEOUT", "load-timeout": "OFAD_LOAD_TIMEOUT",
        "on-load-failure": "OFAD_ON_LOAD_FAILURE", "image-cache-bytes": "OFAD_IMAGE_CACHE_BYTES",
    ]

    /// Applies one setting given by its option name (as on the command line or from the environment).
    public mutating func set(_ key: String, _ text: String) throws {
        func integer(minimum: Int = 1) throws -> Int {
            guard let value = Int(text), value >= minimum else {
                throw ConfigurationError.invalid(key: key, why: "\"\(text)\" is not an integer ≥ \(minimum)")
            }
            return value
        }
        func seconds() throws -> Double {
            guard let value = Double(text), value > 0, value.isFinite else {
                throw ConfigurationError.invalid(key: key, why: "\"\(text)\" is not a positive number of seconds")
            }
            return value
        }
        switch key {
        case "model-dir": modelDirectory = text
        case "socket": socketPath = text
        case "threads": threads = try integer(minimum: 0)
        case "device":
            guard let value = Device(rawValue: text) else {
                throw ConfigurationError.invalid(key: key, why: "\"\(text)\" is not one of cpu, cuda, auto")
            }
            device = value
        case "workers": workers = try integer()
        case "max-frame-bytes": maximumFrameLength = try integer(minimum: 64)
        case "max-image-pixels": maximumImagePixels = try integer()
        case "max-text-length": maximumTextLength = try integer()
        case "max-hypotheses": maximumHypotheses = try integer()
        case "queue-length": queueCapacity = try integer()
        case "request-timeout": requestTimeoutSeconds = try seconds()
        case "max-connections": maximumConnections = try integer()
        case "image-root": imageRoots = text.split(separator: ":").map(String.init)
        case "log-level": logLevel = text
        case "drain-timeout": drainTimeoutSeconds = try seconds()
        case "load-timeout": loadTimeoutSeconds = try seconds()
        case "image-cache-bytes": imageCacheBytes = try integer(minimum: 0)
        case "on-load-failure":
            guard let value = LoadFailurePolicy(rawValue: text) else {
                throw ConfigurationError.invalid(key: key, why: "\"\(text)\" is not one of serve, exit")
            }
            onLoadFailure = value
        default: throw ConfigurationError.invalid(key: key, why: "unknown setting")
        }
    }

    /// Defaults overlaid with the environment's OFAD_* variables.
    public static func fromEnvironment(_ environment: [String: String]) throws -> DaemonConfiguration {
        var configuration = DaemonConfiguration()
        for (key, variable) in environmentKeys.sorted(by: { $0.key < $1.key }) {
            if let text = environment[variable], !text.isEmpty { try configuration.set(key, text) }
        }
        return configuration
    }
}

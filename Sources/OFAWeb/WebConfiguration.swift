// Settings of the web front end: where it listens, which daemon it asks, and the limits it enforces itself. Each
// default is written once on the type; each option, variable, help line and check once in `settings`.
import Foundation
import ServiceSettings

public struct WebConfiguration: Sendable, Equatable {
    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 7860
    public static let defaultSocket = "/run/ofad/ofad.sock"

    /// Address to listen on; anything but loopback must be asked for with `allowRemote`.
    public var host = WebConfiguration.defaultHost
    /// TCP port; 0 picks a free one (tests).
    public var port = WebConfiguration.defaultPort
    /// Whether a non-loopback `host` is accepted.
    public var allowRemote = false
    /// The daemon's Unix socket.
    public var socketPath = WebConfiguration.defaultSocket
    /// Largest request body, checked from Content-Length before the body is read (and while a chunked body
    /// arrives). 16 MiB of JSON carries a ~12 MiB image in base64, well inside ofad's 32 MiB frame.
    public var maximumBodyBytes = 16 * 1024 * 1024
    /// Longest hypothesis or premise in characters; ofad's own default (`--max-text-length`), which only refuses
    /// abusive sizes (the model reads the first max_src_length tokens). Twice that in UTF-8 fits the body limit.
    public var maximumTextLength = 65_536
    /// Threads that wait on the daemon (each request holds one while ofad works).
    public var gatewayThreads = 8
    /// The name (or address) this server answers for besides loopback, as in the Host header without a port; set,
    /// it also guards a server beyond loopback against DNS rebinding.
    public var serverName: String?
    /// Connections open at once; one more is answered 503 and closed. Each takes a file descriptor, as does each
    /// daemon call (`gatewayThreads`), so keep LimitNOFILE above their sum.
    public var maximumConnections = 256
    /// Seconds a keep-alive connection may wait for its next request before it is closed.
    public var idleTimeout = 60.0
    /// Seconds from a request's first byte until its head and body must have arrived; later, 408 and close.
    public var requestTimeout = 60.0
    /// Request body bytes held at once, from being received until they are answered: a request that would pass it
    /// is answered 503 (from its Content-Length, before its body is read). At least `maximumBodyBytes`.
    public var maximumBytesInFlight = 64 * 1024 * 1024
    public var logLevel = "info"

    public init() {}

    /// Whether `host` is a loopback address (127.0.0.0/8, ::1 or localhost).
    public var listensOnLoopbackOnly: Bool { HostName(host, bareIPv6: true)?.isLoopback ?? false }

    /// `serverName` parsed; nil when unset or not a host.
    var serverHostName: HostName? { serverName.flatMap { HostName($0) } }

    /// Rejects settings that cannot work, naming the option.
    public func validate() throws {
        guard (0...65535).contains(port) else { throw WebConfigurationError.invalid(key: "port", why: "not 0–65535") }
        guard !host.isEmpty else { throw WebConfigurationError.invalid(key: "host", why: "empty") }
        if !listensOnLoopbackOnly && !allowRemote {
            throw WebConfigurationError.invalid(
                key: "host", why: "\(host) is not loopback; pass --allow-remote to serve beyond this machine")
        }
        guard maximumBodyBytes >= 1024 else {
            throw WebConfigurationError.invalid(key: "max-upload-bytes", why: "below 1024")
        }
        guard maximumTextLength > 0 else {
            throw WebConfigurationError.invalid(key: "max-text-length", why: "must be positive")
        }
        guard gatewayThreads > 0 else { throw WebConfigurationError.invalid(key: "threads", why: "must be positive") }
        if let serverName, HostName(serverName) == nil {
            throw WebConfigurationError.invalid(key: "server-name", why: "\(serverName) is not a host name or address")
        }
        guard maximumConnections > 0 else {
            throw WebConfigurationError.invalid(key: "max-connections", why: "must be positive")
        }
        guard idleTimeout > 0, idleTimeout.isFinite else {
            throw WebConfigurationError.invalid(key: "idle-timeout", why: "not a positive number of seconds")
        }
        guard requestTimeout > 0, requestTimeout.isFinite else {
            throw WebConfigurationError.invalid(key: "request-timeout", why: "not a positive number of seconds")
        }
        guard maximumBytesInFlight >= maximumBodyBytes else {
            throw WebConfigurationError.invalid(
                key: "max-bytes-in-flight", why: "below --max-upload-bytes (\(maximumBodyBytes)): no upload would fit")
        }
    }
}

public enum WebConfigurationError: Error, Equatable, CustomStringConvertible {
    case invalid(key: String, why: String)

    public var description: String {
        switch self {
        case .invalid(let key, let why): return "invalid --\(key): \(why)"
        }
    }
}

extension WebConfiguration {
    /// Every ofa-web setting once: option, environment variable, help and validation; defaults are the properties'.
    public static let settings = SettingsTable(
        defaults: WebConfiguration(),
        [
            Setting(
                "host", environment: "OFA_WEB_HOST", \.host, summary: "Address to listen on.", parse: SettingParser.text
            ),
            Setting(
                "port", environment: "OFA_WEB_PORT", \.port, summary: "TCP port (0: any free one).",
                parse: SettingParser.integer(minimum: 0, maximum: 65535)),
            Setting(
                "allow-remote", environment: "OFA_WEB_ALLOW_REMOTE", \.allowRemote,
                summary: "Allow a --host beyond loopback; anyone who reaches it can use the model.",
                parse: SettingParser.flag),
            Setting(
                "socket", environment: "OFAD_SOCKET", \.socketPath, summary: "ofad's socket.", parse: SettingParser.text
            ),
            Setting(
                "max-upload-bytes", environment: "OFA_WEB_MAX_UPLOAD_BYTES", \.maximumBodyBytes,
                summary: "Largest request body (the image travels as base64).",
                parse: SettingParser.integer(minimum: 1024)),
            Setting(
                "max-text-length", environment: "OFA_WEB_MAX_TEXT_LENGTH", \.maximumTextLength,
                summary: "Longest hypothesis or premise, characters (ofad's own default).",
                parse: SettingParser.integer(minimum: 1)),
            Setting(
                "threads", environment: "OFA_WEB_THREADS", \.gatewayThreads,
                summary: "Threads waiting on ofad at once.",
                parse: SettingParser.integer(minimum: 1)),
            Setting(
                "server-name", environment: "OFA_WEB_SERVER_NAME", \.serverName,
                summary: "Host name (or address) answered besides loopback; others get 421.",
                parse: { text in
                    guard HostName(text) != nil else { throw SettingValueError("not a host name or address (no port)") }
                    return text
                }, show: { $0 ?? "" }),
            Setting(
                "max-connections", environment: "OFA_WEB_MAX_CONNECTIONS", \.maximumConnections,
                summary: "Connections open at once; one more gets 503.",
                parse: SettingParser.integer(minimum: 1)),
            Setting(
                "idle-timeout", environment: "OFA_WEB_IDLE_TIMEOUT", \.idleTimeout,
                summary: "Seconds an idle keep-alive connection stays open.",
                parse: SettingParser.seconds, show: SettingParser.number),
            Setting(
                "request-timeout", environment: "OFA_WEB_REQUEST_TIMEOUT", \.requestTimeout,
                summary: "Seconds for a request's head and body to arrive (then 408).",
                parse: SettingParser.seconds, show: SettingParser.number),
            Setting(
                "max-bytes-in-flight", environment: "OFA_WEB_MAX_BYTES_IN_FLIGHT", \.maximumBytesInFlight,
                summary: "Request body bytes held at once, all connections together; more gets 503.",
                parse: SettingParser.integer(minimum: 1024)),
            Setting(
                "log-level", environment: "OFA_WEB_LOG_LEVEL", \.logLevel,
                summary: "trace, debug, info, notice, warning, error or critical.",
                parse: SettingParser.logLevel),
        ],
        check: { configuration in
            do {
                try configuration.validate()
            } catch {
                throw SettingValueError("\(error)")
            }
        })

    /// Defaults, then the OFA_WEB_* variables (and OFAD_SOCKET), then the command line (option name → value).
    public static func resolve(commandLine: [String: String] = [:], environment: [String: String]) throws
        -> WebConfiguration
    {
        try settings.resolve(commandLine: commandLine, environment: environment)
    }
}

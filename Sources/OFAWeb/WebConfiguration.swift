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
    public var logLevel = "info"

    public init() {}

    /// Whether `host` is a loopback address (127.0.0.0/8, ::1 or localhost).
    public var listensOnLoopbackOnly: Bool { Self.isLoopback(host) }

    static func isLoopback(_ host: String) -> Bool {
        let name = host.lowercased()
        return name == "localhost" || name == "::1" || name == "[::1]" || name.hasPrefix("127.")
    }

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

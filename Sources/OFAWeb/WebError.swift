// Every way a page request can fail, with the HTTP status, a stable `kind` the page switches on, and a message
// written for the person in front of it. Daemon errors are mapped here, in one table.
import NIOHTTP1
import OFAWire
import ServiceSettings

public enum WebError: Error, Equatable, Sendable {
    case notFound(path: String)
    case methodNotAllowed(allowed: [HTTPMethod])
    case bodyTooLarge(length: Int, limit: Int)
    case unsupportedMediaType(String?)
    case badRequest(String)
    case textTooLong(field: String, length: Int, limit: Int)
    case misdirected(host: String)
    /// No Host on an HTTP/1.1 request (nil), more than one, or one that is not host[:port].
    case invalidHost(String?)
    /// Every connection this server allows is open.
    case tooManyConnections(limit: Int)
    /// Request bodies being received or forwarded already hold the budget this one would exceed.
    case uploadsInFlight(length: Int, limit: Int)
    /// The request's head and body did not arrive within the request timeout.
    case requestTimeout(seconds: Double)
    /// Nothing answers on the daemon's socket.
    case daemonDown
    /// The connection to the daemon broke or it answered something that is not JSON-RPC.
    case daemonBroken(String)
    /// The daemon answered with a JSON-RPC error.
    case daemon(RPCError)
    /// The HTTP client went away before the answer; its daemon call was withdrawn (logged, never sent).
    case clientGone

    /// nginx's "client closed request", for the log.
    static let clientClosedRequest = HTTPResponseStatus(statusCode: 499, reasonPhrase: "Client Closed Request")

    public var status: HTTPResponseStatus {
        switch self {
        case .notFound: return .notFound
        case .methodNotAllowed: return .methodNotAllowed
        case .bodyTooLarge: return .payloadTooLarge
        case .unsupportedMediaType: return .unsupportedMediaType
        case .badRequest: return .badRequest
        case .textTooLong: return .unprocessableEntity
        case .misdirected: return .misdirectedRequest
        case .invalidHost: return .badRequest
        case .tooManyConnections, .uploadsInFlight: return .serviceUnavailable
        case .requestTimeout: return .requestTimeout
        case .daemonDown: return .serviceUnavailable
        case .daemonBroken: return .badGateway
        case .clientGone: return Self.clientClosedRequest
        case .daemon(let error):
            switch error.code {
            case RPCErrorCode.modelNotReady, RPCErrorCode.serverBusy, RPCErrorCode.shuttingDown:
                return .serviceUnavailable
            case RPCErrorCode.timedOut: return .gatewayTimeout
            case RPCErrorCode.imageUndecodable: return .unprocessableEntity
            case RPCErrorCode.inputTooLarge: return .payloadTooLarge
            case RPCErrorCode.invalidParams, RPCErrorCode.attentionOutOfRange: return .badRequest
            case RPCErrorCode.methodNotFound: return .notImplemented
            default: return .badGateway
            }
        }
    }

    /// What the page switches on.
    public var kind: String {
        switch self {
        case .notFound: return "not_found"
        case .methodNotAllowed: return "method_not_allowed"
        case .bodyTooLarge: return "upload_too_large"
        case .unsupportedMediaType: return "unsupported_media_type"
        case .badRequest: return "bad_request"
        case .textTooLong: return "text_too_long"
        case .misdirected: return "misdirected"
        case .invalidHost: return "bad_request"
        case .tooManyConnections, .uploadsInFlight: return "busy"
        case .requestTimeout: return "request_timeout"
        case .daemonDown: return "daemon_down"
        case .daemonBroken: return "daemon_error"
        case .clientGone: return "client_gone"
        case .daemon(let error):
            switch error.code {
            case RPCErrorCode.modelNotReady: return error.data?.stringValue == "failed" ? "model_failed" : "loading"
            case RPCErrorCode.serverBusy: return "busy"
            case RPCErrorCode.shuttingDown: return "shutting_down"
            case RPCErrorCode.timedOut: return "timed_out"
            case RPCErrorCode.imageUndecodable: return "image_rejected"
            case RPCErrorCode.inputTooLarge: return "input_too_large"
            case RPCErrorCode.invalidParams, RPCErrorCode.attentionOutOfRange: return "bad_request"
            case RPCErrorCode.methodNotFound: return "not_supported"
            default: return "daemon_error"
            }
        }
    }

    public var message: String {
        switch self {
        case .notFound(let path): return "Nothing here: \(path)"
        case .methodNotAllowed(let allowed):
            return "Method not allowed here (use \(allowed.map { "\($0)" }.joined(separator: ", ")))."
        case .bodyTooLarge(let length, let limit):
            return "The upload is too large: \(Self.mebibytes(length)) (the limit is \(Self.mebibytes(limit)))."
        case .unsupportedMediaType(let type):
            return "Send JSON (Content-Type: application/json), not \(type ?? "no content type")."
        case .badRequest(let why): return why
        case .textTooLong(let field, let length, let limit):
            return "The \(field) is too long: \(length) characters (the limit is \(limit))."
        case .misdirected(let host): return "This server does not answer for host \(host)."
        case .invalidHost(let host):
            return host.map { "The Host header \($0) is not a host name or address with an optional port." }
                ?? "The request has no Host header."
        case .tooManyConnections(let limit):
            return "ofa-web has as many connections open as it allows (\(limit)); retry shortly."
        case .uploadsInFlight(let length, let limit):
            return "ofa-web is receiving too many uploads at once to take this one (\(Self.mebibytes(length)); "
                + "\(Self.mebibytes(limit)) for all together); retry shortly."
        case .requestTimeout(let seconds):
            return "The request did not arrive within \(SettingParser.number(seconds)) s."
        case .daemonDown: return "The ofad daemon is not running (nothing answers on its socket). Start it and retry."
        case .daemonBroken(let why): return "The connection to the ofad daemon failed: \(why)"
        case .clientGone: return "The request was withdrawn before the daemon answered."
        case .daemon(let error):
            switch error.code {
            case RPCErrorCode.modelNotReady:
                return error.data?.stringValue == "failed"
                    ? "The model failed to load; see the daemon's log." : "The model is still loading; retry shortly."
            case RPCErrorCode.serverBusy: return "The daemon is busy; retry shortly."
            case RPCErrorCode.shuttingDown: return "The daemon is restarting; retry shortly."
            case RPCErrorCode.timedOut: return "The daemon took too long to answer."
            case RPCErrorCode.imageUndecodable:
                return "The image was rejected: \(error.message). Use a PNG or JPEG file."
            case RPCErrorCode.inputTooLarge: return "Too large for the daemon: \(error.message)"
            case RPCErrorCode.methodNotFound: return "This daemon does not offer that (\(error.message))."
            default: return "The daemon answered: \(error.message)"
            }
        }
    }

    /// Worth retrying unchanged a little later (sent as Retry-After).
    public var retryable: Bool {
        switch self {
        case .daemonDown, .tooManyConnections, .uploadsInFlight: return true
        case .daemon(let error):
            return [RPCErrorCode.serverBusy, RPCErrorCode.shuttingDown].contains(error.code)
                || (error.code == RPCErrorCode.modelNotReady && error.data?.stringValue != "failed")
        default: return false
        }
    }

    var allowedMethods: String? {
        if case .methodNotAllowed(let allowed) = self { return allowed.map { "\($0)" }.joined(separator: ", ") }
        return nil
    }

    static func mebibytes(_ bytes: Int) -> String {
        bytes >= 1024 * 1024
            ? "\((Double(bytes) / 1_048_576 * 10).rounded() / 10) MiB" : "\(Int((Double(bytes) / 1024).rounded())) KiB"
    }
}

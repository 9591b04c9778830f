// The web front end's only way to the model: one JSON-RPC call to ofad through OFAWire's blocking client.
import OFAWire

/// Sends one request to the daemon and returns its result, or throws a WebError. Called on a gateway thread,
/// never on an event loop.
public protocol DaemonGateway: Sendable {
    func call(_ method: String, params: JSONValue?) throws -> JSONValue
    /// The same call, withdrawn when `cancellation` fires (the page's client went away): it then throws
    /// `WebError.clientGone`, and the daemon does not run what it had not started.
    func call(_ method: String, params: JSONValue?, cancellation: CallCancellation) throws -> JSONValue
}

extension DaemonGateway {
    /// A gateway that cannot withdraw a call finishes it.
    public func call(_ method: String, params: JSONValue?, cancellation: CallCancellation) throws -> JSONValue {
        try call(method, params: params)
    }
}

/// A fresh connection per call to the daemon's Unix socket, so one broken call affects nothing else, and closing
/// it withdraws exactly that call.
public struct SocketGateway: DaemonGateway {
    public let socketPath: String

    public init(socketPath: String) { self.socketPath = socketPath }

    public func call(_ method: String, params: JSONValue?) throws -> JSONValue {
        try call(method, params: params, cancellation: CallCancellation())
    }

    public func call(_ method: String, params: JSONValue?, cancellation: CallCancellation) throws -> JSONValue {
        guard !cancellation.isCancelled else { throw WebError.clientGone }
        let client: WireClient
        do {
            client = try WireClient(socketPath: socketPath)
        } catch {
            throw WebError.daemonDown
        }
        do {
            // Ending the connection wakes the blocked read; ofad sees the client gone and drops the queued job.
            return try cancellation.whileRunning(
                { try client.call(method, params: params) },
                onCancel: { [socket = client.socket] in socket.interrupt() })
        } catch let error as RPCError {
            throw WebError.daemon(error)
        } catch {
            throw cancellation.isCancelled ? WebError.clientGone : WebError.daemonBroken("\(error)")
        }
    }
}

// The web front end's only way to the model: one JSON-RPC call to ofad through OFAWire's blocking client.
import OFAWire

/// Sends one request to the daemon and returns its result, or throws a WebError. Called on a gateway thread,
/// never on an event loop.
public protocol DaemonGateway: Sendable {
    func call(_ method: String, params: JSONValue?) throws -> JSONValue
}

/// A fresh connection per call to the daemon's Unix socket, so one broken call affects nothing else.
public struct SocketGateway: DaemonGateway {
    public let socketPath: String

    public init(socketPath: String) { self.socketPath = socketPath }

    public func call(_ method: String, params: JSONValue?) throws -> JSONValue {
        let client: WireClient
        do {
            client = try WireClient(socketPath: socketPath)
        } catch {
            throw WebError.daemonDown
        }
        do {
            return try client.call(method, params: params)
        } catch let error as RPCError {
            throw WebError.daemon(error)
        } catch {
            throw WebError.daemonBroken("\(error)")
        }
    }
}

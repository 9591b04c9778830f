// A blocking client: frames requests onto a Unix socket and reads framed responses back.
import Foundation

public final class WireClient: @unchecked Sendable {
    public let socket: UnixSocket
    private var decoder: FrameDecoder
    private var nextID: Int64 = 1

    public init(socketPath: String, maximumFrameLength: Int = FrameCoder.defaultMaximumResponseLength) throws {
        socket = try UnixSocket(connectingTo: socketPath)
        decoder = FrameDecoder(maximumLength: maximumFrameLength)
    }

    /// Sends one frame body.
    public func sendFrame(_ body: [UInt8]) throws {
        try socket.write(FrameCoder.encode(body))
    }

    public func send(_ request: RPCRequest) throws {
        try sendFrame(request.json.serialized())
    }

    /// The next frame body; nil when the daemon closed the connection cleanly between frames.
    public func receiveFrame() throws -> [UInt8]? {
        while true {
            if let frame = try decoder.nextFrame() { return frame }
            let bytes = try socket.read()
            if bytes.isEmpty {
                try decoder.finish()
                return nil
            }
            decoder.append(bytes)
        }
    }

    public func receive() throws -> RPCResponse {
        guard let frame = try receiveFrame() else { throw SocketError.closedByPeer }
        return try RPCResponse.parse(frame)
    }

    /// Sends one request and waits for its response; throws the daemon's RPCError if it answered with one.
    public func call(_ method: String, params: JSONValue? = nil) throws -> JSONValue {
        let id = JSONValue.integer(nextID)
        nextID += 1
        try send(RPCRequest(id: id, method: method, params: params))
        while true {
            let response = try receive()
            if response.id == id { return try response.get() }
        }
    }

    /// `call` with Codable parameters and result.
    public func call<Params: Encodable, Result: Decodable>(
        _ method: String, _ params: Params, as type: Result.Type
    ) throws -> Result {
        try call(method, params: JSONValue(encoding: params)).decode(Result.self)
    }

    public func call<Result: Decodable>(_ method: String, as type: Result.Type) throws -> Result {
        try call(method).decode(Result.self)
    }
}

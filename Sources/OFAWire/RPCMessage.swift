// JSON-RPC 2.0 requests, responses and error objects as they travel inside frames.

/// Error codes: the JSON-RPC 2.0 standard ones, then ofad's own (documented in docs/protocol.md).
public enum RPCErrorCode {
    public static let parseError = -32700
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let internalError = -32603

    public static let modelNotReady = -32001
    public static let serverBusy = -32002
    public static let timedOut = -32003
    public static let imageUndecodable = -32004
    public static let inputTooLarge = -32005
    public static let imageNotReadable = -32006
    public static let shuttingDown = -32007
    public static let attentionOutOfRange = -32008
}

public struct RPCError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var description: String { "\(message) (\(code))" }
}

public struct RPCRequest: Codable, Sendable, Equatable {
    public var jsonrpc: String = "2.0"
    /// A string or number chosen by the client; it comes back on the response.
    public var id: JSONValue
    /// A numeric id's text exactly as the client wrote it, so it comes back unchanged even where JSONValue would
    /// round it (integers beyond Int64, more digits than a Double holds).
    public var idText: String?
    public var method: String
    public var params: JSONValue?

    enum CodingKeys: String, CodingKey { case jsonrpc, id, method, params }

    public init(id: JSONValue, method: String, params: JSONValue? = nil) {
        self.id = id
        self.method = method
        self.params = params
    }

    /// The request as a JSON value (for framing).
    public var json: JSONValue {
        var members: [String: JSONValue] = ["jsonrpc": "2.0", "id": id, "method": .string(method)]
        if let params { members["params"] = params }
        return .object(members)
    }

    /// Reads a request from a frame body. On failure the error carries the id when one could be read, so the
    /// reply still reaches the right caller (null otherwise, as JSON-RPC asks).
    public static func parse(_ body: [UInt8]) -> Result<RPCRequest, RequestRejection> {
        guard String(validating: body, as: UTF8.self) != nil else {
            return .failure(
                RequestRejection(
                    id: .null,
                    error: .init(
                        code: RPCErrorCode.parseError,
                        message: "frame is not valid UTF-8")))
        }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: body)
        } catch {
            return .failure(
                RequestRejection(
                    id: .null,
                    error: .init(
                        code: RPCErrorCode.parseError,
                        message: "frame is not valid JSON")))
        }
        guard case .object(let members) = value else {
            let what = if case .array = value { "batch arrays are not supported" } else { "request is not an object" }
            return .failure(
                RequestRejection(
                    id: .null,
                    error: .init(
                        code: RPCErrorCode.invalidRequest,
                        message: what)))
        }
        func reject(_ id: JSONValue, _ message: String, code: Int = RPCErrorCode.invalidRequest)
            -> Result<RPCRequest, RequestRejection>
        {
            .failure(RequestRejection(id: id, error: .init(code: code, message: message)))
        }
        guard let id = members["id"] else { return reject(.null, "\"id\" is required") }
        var idText: String?
        switch id {
        case .integer, .number:
            // The id as written, if it is the member JSONValue read (the first "id", without escapes in its key).
            if let text = MemberText.value(of: "id", in: body), (try? JSONValue(parsing: text)) == id {
                idText = String(decoding: text, as: UTF8.self)
            }
        case .string, .null: break
        default: return reject(.null, "\"id\" must be a string or a number")
        }
        func reject(_ message: String, code: Int = RPCErrorCode.invalidRequest) -> Result<RPCRequest, RequestRejection>
        {
            .failure(RequestRejection(id: id, idText: idText, error: .init(code: code, message: message)))
        }
        guard members["jsonrpc"] == "2.0" else { return reject("\"jsonrpc\" must be \"2.0\"") }
        guard case .string(let method)? = members["method"] else {
            return reject("\"method\" must be a string")
        }
        let params = members["params"]
        switch params {
        case nil, .object?, .null?: break
        default: return reject("\"params\" must be an object", code: RPCErrorCode.invalidParams)
        }
        var request = RPCRequest(id: id, method: method, params: params == .null ? nil : params)
        request.idText = idText
        return .success(request)
    }
}

/// A request that could not be accepted, with the id to answer it under.
public struct RequestRejection: Error, Sendable, Equatable {
    public var id: JSONValue
    /// The id as the client wrote it (see RPCRequest.idText).
    public var idText: String?
    public var error: RPCError

    public init(id: JSONValue, idText: String? = nil, error: RPCError) {
        self.id = id
        self.idText = idText
        self.error = error
    }
}

public struct RPCResponse: Codable, Sendable, Equatable {
    public var jsonrpc: String = "2.0"
    public var id: JSONValue
    /// The request's id text, written back as it came (see RPCRequest.idText); nil: `id` is written.
    public var idText: String?
    public var result: JSONValue?
    public var error: RPCError?

    enum CodingKeys: String, CodingKey { case jsonrpc, id, result, error }

    public init(id: JSONValue, idText: String? = nil, result: JSONValue) {
        self.id = id
        self.idText = idText
        self.result = result
    }

    public init(id: JSONValue, idText: String? = nil, error: RPCError) {
        self.id = id
        self.idText = idText
        self.error = error
    }

    /// The response as a JSON value: exactly one of "result" and "error", and "id" always present.
    public var json: JSONValue {
        var members: [String: JSONValue] = ["jsonrpc": "2.0", "id": id]
        if let error {
            var object: [String: JSONValue] = ["code": .integer(Int64(error.code)), "message": .string(error.message)]
            if let data = error.data { object["data"] = data }
            members["error"] = .object(object)
        } else {
            members["result"] = result ?? .null
        }
        return .object(members)
    }

    /// The frame body that carries this response: `json` with sorted keys, the id as the client wrote it.
    public func serialized() -> [UInt8] {
        guard let idText, case .object(var members) = json else { return json.serialized() }
        members["id"] = nil
        // Sorted keys: "error" < "id" < "jsonrpc" < "result".
        var text = Array("{".utf8)
        if let error = members["error"] { text += Array("\"error\":".utf8) + error.serialized() + Array(",".utf8) }
        text += Array("\"id\":".utf8) + Array(idText.utf8) + Array(",\"jsonrpc\":\"2.0\"".utf8)
        if let result = members["result"] { text += Array(",\"result\":".utf8) + result.serialized() }
        return text + Array("}".utf8)
    }

    /// Reads a response from a frame body.
    public static func parse(_ body: [UInt8]) throws -> RPCResponse {
        let value = try JSONValue(parsing: body)
        guard case .object(let members) = value, let id = members["id"] else {
            throw RPCError(code: RPCErrorCode.parseError, message: "response is not a JSON-RPC object")
        }
        if let error = members["error"], error != .null {
            return RPCResponse(id: id, error: try error.decode(RPCError.self))
        }
        return RPCResponse(id: id, result: members["result"] ?? .null)
    }

    /// The result, or the error thrown.
    public func get() throws -> JSONValue {
        if let error { throw error }
        return result ?? .null
    }
}

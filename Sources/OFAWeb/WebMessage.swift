// An HTTP request as the router sees it (head and whole body), and the response it gives back.
import Foundation
import NIOHTTP1
import OFAWire

public struct WebRequest: Sendable {
    public var method: HTTPMethod
    /// The path without the query string.
    public var path: String
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: HTTPMethod, path: String, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }
}

public struct WebResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPResponseStatus = .ok, contentType: String, body: [UInt8], headers: HTTPHeaders = [:]) {
        self.status = status
        self.headers = headers
        self.headers.replaceOrAdd(name: "Content-Type", value: contentType)
        self.body = body
    }

    /// A JSON body (keys sorted).
    public static func json(_ value: JSONValue, status: HTTPResponseStatus = .ok) -> WebResponse {
        var response = WebResponse(
            status: status, contentType: "application/json; charset=utf-8", body: value.serialized())
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        return response
    }

    /// The JSON error body every failure carries: `{"error": {"status", "kind", "message"}}`.
    public static func error(_ error: WebError) -> WebResponse {
        var response = json(
            [
                "error": [
                    "status": .integer(Int64(error.status.code)), "kind": .string(error.kind),
                    "message": .string(error.message),
                ]
            ], status: error.status)
        if let allowed = error.allowedMethods { response.headers.replaceOrAdd(name: "Allow", value: allowed) }
        if error.retryable { response.headers.replaceOrAdd(name: "Retry-After", value: "2") }
        return response
    }

    /// The headers as sent: with the body's length, this server's security policy, and whether the connection stays.
    func headers(keepAlive: Bool) -> HTTPHeaders {
        var headers = self.headers
        headers.replaceOrAdd(name: "Content-Length", value: "\(body.count)")
        headers.replaceOrAdd(name: "Content-Security-Policy", value: StaticAssets.contentSecurityPolicy)
        headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        headers.replaceOrAdd(name: "Referrer-Policy", value: "no-referrer")
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        return headers
    }

    /// The whole HTTP/1.1 message, for a connection answered without a request (refused, timed out) that closes.
    func closingMessage() -> [UInt8] {
        var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        for (name, value) in headers(keepAlive: false) { text += "\(name): \(value)\r\n" }
        return Array((text + "\r\n").utf8) + body
    }
}

// A raw HTTP/1.1 client over a TCP socket, so tests control every byte (a head without its body, chunks).
import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

struct HTTPReply {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    /// `error.kind` of a JSON error body.
    var errorKind: String? { (json["error"] as? [String: Any])?["kind"] as? String }
}

final class HTTPTestConnection {
    let descriptor: Int32
    /// Bytes read past the last response (pipelined answers).
    private var pending: [UInt8] = []

    /// `timeout`: seconds a read waits before `receive` gives up (nil) and `isClosedByServer` says no.
    init(port: Int, timeout: Int = 30) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            throw NSError(domain: "HTTPTestConnection", code: Int(errno))
        }
        var timeout = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Reads one response (Content-Length framed; `bodyless` for an answer to HEAD); nil when the server closed first.
    func receive(bodyless: Bool = false) -> HTTPReply? {
        var data = pending
        var buffer = [UInt8](repeating: 0, count: 65536)
        func fill() -> Bool {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, 65536, 0) }
            if count <= 0 { return false }
            data.append(contentsOf: buffer[0..<count])
            return true
        }
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            if let end = data.firstRange(of: separator) {
                // Skip interim 1xx responses (100 Continue).
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
                if head.hasPrefix("HTTP/1.1 1") {
                    data.removeFirst(end.upperBound)
                    continue
                }
                headEnd = end.upperBound
            } else if !fill() {
                return nil
            }
        }
        let head = String(decoding: data[..<(headEnd! - 4)], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(head[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let length = bodyless ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        while data.count - headEnd! < length { if !fill() { break } }
        let body = Array(data[headEnd!..<min(data.count, headEnd! + length)])
        pending = Array(data[min(data.count, headEnd! + length)...])
        return HTTPReply(status: status, headers: headers, body: body)
    }

    /// Reads an interim `100 Continue`: the server has taken the head and waits for the body.
    func receiveContinue() -> Bool {
        var byte: UInt8 = 0
        var head: [UInt8] = []
        while !head.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)) {
            guard recv(descriptor, &byte, 1, 0) == 1 else { return false }
            head.append(byte)
        }
        return String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 100 ")
    }

    /// Whether the server closed the connection (reads EOF within the timeout).
    func isClosedByServer() -> Bool {
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, 0) == 0
    }
}

/// One request on a fresh connection.
func httpRequest(
    port: Int, method: String = "GET", path: String, headers: [String: String] = [:], body: [UInt8]? = nil
) throws -> HTTPReply {
    let connection = try HTTPTestConnection(port: port)
    var lines = ["\(method) \(path) HTTP/1.1", "Host: 127.0.0.1:\(port)", "Connection: close"]
    var headers = headers
    if let body, headers["Content-Length"] == nil { headers["Content-Length"] = "\(body.count)" }
    for (name, value) in headers.sorted(by: { $0.key < $1.key }) { lines.append("\(name): \(value)") }
    connection.send(lines.joined(separator: "\r\n") + "\r\n\r\n")
    if let body { connection.send(body) }
    return try XCTUnwrap(connection.receive(), "\(method) \(path) got an answer")
}

func postJSON(port: Int, path: String, _ object: Any) throws -> HTTPReply {
    let body = try JSONSerialization.data(withJSONObject: object)
    return try httpRequest(
        port: port, method: "POST", path: path, headers: ["Content-Type": "application/json"], body: Array(body))
}

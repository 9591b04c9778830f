// The Host header as RFC 9110 §7.2 reads it (uri-host [":" port]), and the rule for which hosts this server answers:
// loopback names and addresses, and the configured server name. Anything else naming this server is DNS rebinding.
import NIOHTTP1

public struct HostHeader: Equatable, Sendable {
    public let name: HostName
    public let port: Int?

    public init(name: HostName, port: Int?) {
        self.name = name
        self.port = port
    }

    /// Parses "127.0.0.1:7860", "[::1]", "localhost"; nil for an empty value, userinfo, a path, spaces, or a port
    /// that is not 0–65535 in digits.
    public init?(_ value: String) {
        let text = Substring(value)
        let nameEnd: Substring.Index
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            nameEnd = text.index(after: close)
        } else {
            nameEnd = text.firstIndex(of: ":") ?? text.endIndex
        }
        guard let name = HostName(text[..<nameEnd]) else { return nil }
        self.name = name
        let rest = text[nameEnd...]
        if rest.isEmpty {
            port = nil
        } else {
            let digits = rest.dropFirst()
            guard rest.first == ":", !digits.isEmpty,
                digits.allSatisfy({ $0.asciiValue.map { (0x30...0x39).contains($0) } ?? false }),
                let port = Int(digits), port <= 65535
            else { return nil }
            self.port = port
        }
    }

    /// Why a request's Host is refused, or nil when this server answers for it. An HTTP/1.1 request needs exactly
    /// one well-formed Host (400 otherwise); a loopback server, or one given a server name, answers only for
    /// loopback and that name (421 otherwise).
    static func refusal(of head: HTTPRequestHead, configuration: WebConfiguration) -> WebError? {
        let values = head.headers["Host"]
        guard values.count <= 1 else { return .invalidHost(values.joined(separator: ", ")) }
        guard let value = values.first.map(trimmingWhitespace) else {
            return head.version.major == 1 && head.version.minor == 0 ? nil : .invalidHost(nil)
        }
        guard let host = HostHeader(value) else { return .invalidHost(value) }
        let restricted = configuration.listensOnLoopbackOnly || configuration.serverName != nil
        if restricted && !host.name.isLoopback && host.name != configuration.serverHostName {
            return .misdirected(host: value)
        }
        return nil
    }

    /// Without the optional whitespace around a field value.
    private static func trimmingWhitespace(_ value: String) -> String {
        let isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(value.drop(while: isWhitespace).reversed().drop(while: isWhitespace).reversed())
    }
}

// A host as RFC 3986 §3.2.2 writes it: an IP literal in brackets (IPv6), an IPv4 dotted quad, or a registered
// name. Parsed strictly, so that "127.0.0.1.nip.io" is a name, not an address.
public enum HostName: Equatable, Sendable {
    case ipv4(UInt8, UInt8, UInt8, UInt8)
    /// The eight 16-bit groups, `::` expanded.
    case ipv6([UInt16])
    /// Lowercased.
    case registered(String)

    /// Parses "127.0.0.1", "[::1]" or "localhost"; `bareIPv6` also takes "::1" without brackets (a listen address,
    /// never a Host header). Nil for anything else: an empty name, a port, userinfo, a path, spaces, a zone.
    public init?(_ text: Substring, bareIPv6: Bool = false) {
        if text.hasPrefix("[") {
            guard text.hasSuffix("]"), text.count > 2, let groups = Self.ipv6Groups(text.dropFirst().dropLast()) else {
                return nil
            }
            self = .ipv6(groups)
        } else if bareIPv6, text.contains(":") {
            guard let groups = Self.ipv6Groups(text) else { return nil }
            self = .ipv6(groups)
        } else if let octets = Self.ipv4Octets(text) {
            self = .ipv4(octets[0], octets[1], octets[2], octets[3])
        } else if Self.isRegisteredName(text) {
            self = .registered(text.lowercased())
        } else {
            return nil
        }
    }

    public init?(_ text: String, bareIPv6: Bool = false) { self.init(Substring(text), bareIPv6: bareIPv6) }

    /// localhost, 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        switch self {
        case .ipv4(let first, _, _, _): return first == 127
        case .ipv6(let groups): return groups == [0, 0, 0, 0, 0, 0, 0, 1]
        case .registered(let name): return name == "localhost"
        }
    }

    /// dec-octet "." dec-octet "." dec-octet "." dec-octet, each 0–255 without leading zeros.
    static func ipv4Octets(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCIIDigit), part == "0" || part.first != "0",
                let value = UInt8(part)
            else { return nil }
            octets.append(value)
        }
        return octets
    }

    /// RFC 4291 text: up to eight hex groups of 1–4 digits, one `::` for a run of zeros, an IPv4 tail allowed.
    static func ipv6Groups(_ text: Substring) -> [UInt16]? {
        func groups(_ half: Substring, last: Bool) -> [UInt16]? {
            if half.isEmpty { return [] }
            var result: [UInt16] = []
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            for (index, part) in parts.enumerated() {
                if last && index == parts.count - 1 && part.contains(".") {
                    guard let octets = ipv4Octets(part) else { return nil }
                    result += [UInt16(octets[0]) << 8 | UInt16(octets[1]), UInt16(octets[2]) << 8 | UInt16(octets[3])]
                } else {
                    guard (1...4).contains(part.count), part.allSatisfy(\.isASCIIHexDigit),
                        let value = UInt16(part, radix: 16)
                    else { return nil }
                    result.append(value)
                }
            }
            return result
        }
        guard let gap = text.firstRange(of: "::") else {
            guard let all = groups(text, last: true), all.count == 8 else { return nil }
            return all
        }
        guard let head = groups(text[..<gap.lowerBound], last: false),
            let tail = groups(text[gap.upperBound...], last: true), head.count + tail.count <= 7
        else { return nil }
        return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
    }

    /// reg-name = *( unreserved / pct-encoded / sub-delims ), here at least one character.
    static func isRegisteredName(_ text: Substring) -> Bool {
        guard !text.isEmpty else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=")
        var rest = text[...]
        while let character = rest.first {
            if character == "%" {
                let escape = rest.dropFirst().prefix(2)
                guard escape.count == 2, escape.allSatisfy(\.isASCIIHexDigit) else { return false }
                rest = rest.dropFirst(3)
            } else {
                guard allowed.contains(character) else { return false }
                rest = rest.dropFirst()
            }
        }
        return true
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { asciiValue.map { (0x30...0x39).contains($0) } ?? false }
    fileprivate var isASCIIHexDigit: Bool {
        asciiValue.map { (0x30...0x39).contains($0) || (0x41...0x46).contains($0) || (0x61...0x66).contains($0) }
            ?? false
    }
}

// The exact text of one top-level member of a JSON object, for the values JSON-RPC must echo byte for byte (a
// numeric id beyond Int64 or Double precision would come back changed through JSONValue).

public enum MemberText {
    /// The bytes of the value of the first top-level member whose key is exactly `name` (no escapes), or nil when
    /// `bytes` is not an object with such a member. Only skims: the text must already have parsed as JSON.
    public static func value<Bytes: RandomAccessCollection>(of name: String, in bytes: Bytes) -> Bytes.SubSequence?
    where Bytes.Element == UInt8, Bytes.Index == Int {
        var scanner = Scanner(bytes: bytes)
        let key = Array(name.utf8)
        scanner.skipWhitespace()
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        while true {
            scanner.skipWhitespace()
            guard let keyRange = scanner.skipString() else { return nil }
            scanner.skipWhitespace()
            guard scanner.take(UInt8(ascii: ":")) else { return nil }
            scanner.skipWhitespace()
            let start = scanner.index
            guard scanner.skipValue() else { return nil }
            if bytes[(keyRange.lowerBound + 1)..<(keyRange.upperBound - 1)].elementsEqual(key) {
                return bytes[start..<scanner.index]
            }
            scanner.skipWhitespace()
            guard scanner.take(UInt8(ascii: ",")) else { return nil }
        }
    }

    private struct Scanner<Bytes: RandomAccessCollection> where Bytes.Element == UInt8, Bytes.Index == Int {
        let bytes: Bytes
        var index: Int
        /// Nesting is bounded, so a hostile text cannot exhaust anything; JSONValue refuses deeper text anyway.
        static var maximumDepth: Int { 512 }

        init(bytes: Bytes) {
            self.bytes = bytes
            index = bytes.startIndex
        }

        var current: UInt8? { index < bytes.endIndex ? bytes[index] : nil }

        mutating func take(_ byte: UInt8) -> Bool {
            guard current == byte else { return false }
            index += 1
            return true
        }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        /// A string with its quotes; the range it spans.
        mutating func skipString() -> Range<Int>? {
            let start = index
            guard take(UInt8(ascii: "\"")) else { return nil }
            while let byte = current {
                index += 1
                if byte == UInt8(ascii: "\\") {
                    guard current != nil else { return nil }
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    return start..<index
                }
            }
            return nil
        }

        /// Any value: a string, an object or array (iteratively, strings inside skipped), or a number/literal.
        mutating func skipValue() -> Bool {
            guard let first = current else { return false }
            if first == UInt8(ascii: "\"") { return skipString() != nil }
            if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
                var depth = 0
                while let byte = current {
                    switch byte {
                    case UInt8(ascii: "\""):
                        guard skipString() != nil else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                        guard depth <= Self.maximumDepth else { return false }
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                    default: break
                    }
                    index += 1
                    if depth == 0 { return true }
                }
                return false
            }
            let start = index
            while let byte = current, !",}] \t\r\n".utf8.contains(byte) { index += 1 }
            return index > start
        }
    }
}

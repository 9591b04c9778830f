// Length-prefixed frames: a 4-byte unsigned big-endian length, then that many bytes of UTF-8 JSON.

/// Why a byte stream could not be cut into frames.
public enum FrameError: Error, Equatable, CustomStringConvertible {
    /// The header announced `length` bytes, more than `limit`; the body was not read.
    case frameTooLarge(length: Int, limit: Int)
    /// The stream ended inside a frame: `received` of `expected` bytes (header included) had arrived.
    case truncated(expected: Int, received: Int)

    public var description: String {
        switch self {
        case .frameTooLarge(let length, let limit):
            return "frame of \(length) bytes exceeds the limit of \(limit) bytes"
        case .truncated(let expected, let received):
            return "stream ended inside a frame (\(received) of \(expected) bytes)"
        }
    }
}

public enum FrameCoder {
    public static let headerSize = 4
    /// Default largest request the daemon accepts: 32 MiB (a large JPEG in base64).
    public static let defaultMaximumLength = 32 << 20
    /// Default largest response a client accepts: 1 GiB (full attention maps of OFA-large run to tens of MB).
    public static let defaultMaximumResponseLength = 1 << 30

    /// The frame that carries `payload`.
    public static func encode<Bytes: Collection>(_ payload: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var frame = header(length: payload.count)
        frame.append(contentsOf: payload)
        return frame
    }

    /// The 4-byte big-endian header for a body of `length` bytes.
    public static func header(length: Int) -> [UInt8] {
        precondition(length >= 0 && length <= Int(UInt32.max), "frame length out of range")
        let value = UInt32(length)
        return [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }
}

/// Cuts an incoming byte stream into frame bodies. Feed it bytes as they arrive; it refuses an oversized frame
/// as soon as its header is complete, before any of the body is needed.
public struct FrameDecoder {
    public let maximumLength: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maximumLength: Int = FrameCoder.defaultMaximumLength) {
        self.maximumLength = maximumLength
    }

    /// Bytes received but not yet returned as a frame.
    public var bufferedByteCount: Int { buffer.count - start }

    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame body, or nil when more bytes are needed.
    public mutating func nextFrame() throws -> [UInt8]? {
        guard let length = announcedLength else { return nil }
        guard length <= maximumLength else {
            throw FrameError.frameTooLarge(length: length, limit: maximumLength)
        }
        let end = start + FrameCoder.headerSize + length
        guard buffer.count >= end else { return nil }
        let body = Array(buffer[(start + FrameCoder.headerSize)..<end])
        start = end
        return body
    }

    /// Whether a whole frame (or an oversized header, which `nextFrame` refuses) is buffered.
    public var hasCompleteFrame: Bool {
        guard let length = announcedLength else { return false }
        return length > maximumLength || bufferedByteCount >= FrameCoder.headerSize + length
    }

    /// Call at end of stream: throws when a partial frame is left over.
    public func finish() throws {
        let left = bufferedByteCount
        guard left > 0 else { return }
        let expected = FrameCoder.headerSize + (announcedLength ?? 0)
        throw FrameError.truncated(expected: expected, received: left)
    }

    /// The body length in the header at the front of the buffer, once all four bytes are there.
    private var announcedLength: Int? {
        guard bufferedByteCount >= FrameCoder.headerSize else { return nil }
        return Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8
            | Int(buffer[start + 3])
    }

    private mutating func compactIfWorthwhile() {
        if start > 0 && (start == buffer.count || start >= 64 * 1024) {
            buffer.removeFirst(start)
            start = 0
        }
    }
}

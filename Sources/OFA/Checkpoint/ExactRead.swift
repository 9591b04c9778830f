// Positioned reads of exactly the bytes asked for: retried after EINTR and short reads, and an error (never
// fewer bytes) when the file fails or ends early. Shared by the weights reader and the daemon's image paths.
import Foundation

public enum ExactReadError: Error, Equatable, CustomStringConvertible {
    /// pread failed with this error number.
    case failed(errno: Int32)
    /// The file ended after `read` of the `expected` bytes.
    case endOfFile(read: Int, expected: Int)

    public var description: String {
        switch self {
        case .failed(let code): return String(cString: strerror(code))
        case .endOfFile(let read, let expected): return "unexpected end of file after \(read) of \(expected) bytes"
        }
    }
}

public enum ExactRead {
    /// Reads exactly `count` bytes at `offset` of `descriptor` into `destination`; throws ExactReadError.
    public static func read(
        _ descriptor: Int32, into destination: UnsafeMutableRawPointer, count: Int, offset: Int
    ) throws {
        var done = 0
        while done < count {
            let result = pread(descriptor, destination + done, count - done, off_t(offset + done))
            if result < 0 {
                if errno == EINTR { continue }
                throw ExactReadError.failed(errno: errno)
            }
            if result == 0 { throw ExactReadError.endOfFile(read: done, expected: count) }
            done += result
        }
    }

    /// Exactly `count` bytes at `offset` of `descriptor`.
    public static func bytes(_ descriptor: Int32, count: Int, offset: Int = 0) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return bytes }
        try bytes.withUnsafeMutableBytes { try read(descriptor, into: $0.baseAddress!, count: count, offset: offset) }
        return bytes
    }
}

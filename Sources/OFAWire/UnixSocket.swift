// A blocking Unix-domain stream socket for clients; the only file in OFAWire that makes raw socket calls.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

public enum SocketError: Error, Equatable, CustomStringConvertible {
    case pathTooLong(String)
    case create(errno: Int32)
    case connect(path: String, errno: Int32)
    case write(errno: Int32)
    case read(errno: Int32)
    case closedByPeer

    public var description: String {
        switch self {
        case .pathTooLong(let path): return "socket path too long: \(path)"
        case .create(let code): return "cannot create a socket: \(Self.text(code))"
        case .connect(let path, let code): return "cannot connect to \(path): \(Self.text(code))"
        case .write(let code): return "write failed: \(Self.text(code))"
        case .read(let code): return "read failed: \(Self.text(code))"
        case .closedByPeer: return "the daemon closed the connection"
        }
    }

    private static func text(_ code: Int32) -> String { String(cString: strerror(code)) }
}

public final class UnixSocket: @unchecked Sendable {
    public let descriptor: Int32

    /// Connects to the stream socket at `path`.
    public init(connectingTo path: String) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < capacity else { throw SocketError.pathTooLong(path) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        #if canImport(Darwin)
            let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #else
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #endif
        guard fd >= 0 else { throw SocketError.create(errno: errno) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw SocketError.connect(path: path, errno: code)
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Writes all of `bytes`.
    public func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                send(descriptor, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw SocketError.write(errno: errno)
            }
            offset += written
        }
    }

    /// Reads up to `maximum` bytes; an empty result means the peer closed its side.
    public func read(maximum: Int = 64 * 1024) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, maximum, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SocketError.read(errno: errno)
            }
            return Array(buffer[0..<count])
        }
    }

    /// Tells the daemon no more requests follow; responses can still be read.
    public func finishWriting() {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Ends the connection both ways; safe from another thread, where a blocked read or write then returns. The
    /// daemon sees the client gone and drops the work it has queued for it.
    public func interrupt() {
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    /// Whether something accepts connections at `path` (false for a stale socket file).
    public static func isListening(at path: String) -> Bool {
        (try? UnixSocket(connectingTo: path)) != nil
    }
}

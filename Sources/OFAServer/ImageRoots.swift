// Reads images named by path, only from under the configured roots, without following links out of them.
import OFA

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public enum ImagePathError: Error, Equatable, CustomStringConvertible {
    case noRootsConfigured
    case notAbsolute(String)
    case outsideRoots(String)
    case unreadable(String, errno: Int32)
    case notRegularFile(String)
    case tooLarge(String, bytes: Int, limit: Int)
    /// The file ended before the size it had when opened (it shrank while being read).
    case shorterThanStated(String, read: Int, stated: Int)

    public var description: String {
        switch self {
        case .noRootsConfigured: return "image paths are not accepted (no image roots configured)"
        case .notAbsolute(let path): return "image path must be absolute: \(path)"
        case .outsideRoots(let path): return "image path is outside the allowed roots: \(path)"
        case .unreadable(let path, let code): return "cannot read \(path): \(String(cString: strerror(code)))"
        case .notRegularFile(let path): return "not a regular file: \(path)"
        case .tooLarge(let path, let bytes, let limit): return "\(path) has \(bytes) bytes, over the limit of \(limit)"
        case .shorterThanStated(let path, let read, let stated):
            return "\(path) ended after \(read) of its \(stated) bytes"
        }
    }
}

public struct ImageRoots: Sendable {
    /// The roots with their links resolved; roots that do not exist are dropped.
    public let resolvedRoots: [String]

    public init(_ roots: [String]) {
        resolvedRoots = roots.compactMap(Self.realPath)
    }

    /// The file's bytes, when its fully resolved path lies inside one of the roots.
    public func read(_ path: String, maximumBytes: Int) throws -> [UInt8] {
        guard !resolvedRoots.isEmpty else { throw ImagePathError.noRootsConfigured }
        guard path.hasPrefix("/") else { throw ImagePathError.notAbsolute(path) }
        guard let resolved = Self.realPath(path) else { throw ImagePathError.unreadable(path, errno: errno) }
        let inside = resolvedRoots.contains { root in
            resolved.hasPrefix(root == "/" ? "/" : root + "/")
        }
        guard inside else { throw ImagePathError.outsideRoots(path) }
        // O_NOFOLLOW: a link swapped in after resolution is refused rather than followed.
        let fd = open(resolved, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw ImagePathError.unreadable(path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ImagePathError.unreadable(path, errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw ImagePathError.notRegularFile(path) }
        let size = Int(info.st_size)
        guard size <= maximumBytes else { throw ImagePathError.tooLarge(path, bytes: size, limit: maximumBytes) }
        do {
            return try ExactRead.bytes(fd, count: size)
        } catch ExactReadError.failed(let code) {
            throw ImagePathError.unreadable(path, errno: code)
        } catch ExactReadError.endOfFile(let read, _) {
            throw ImagePathError.shorterThanStated(path, read: read, stated: size)
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

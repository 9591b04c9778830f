// Reads images named by path, only from under the configured roots: the path is matched to a root by its spelling
// alone, then opened beneath that root's open directory with no symbolic link followed (CFileAccess), so nothing
// swapped in while it is read can lead outside, and nothing about files outside the roots is revealed.
import CFileAccess
import OFA

#if canImport(Glibc)
    import Glibc
#endif

public enum ImagePathError: Error, Equatable, CustomStringConvertible {
    case noRootsConfigured
    case notAbsolute(String)
    /// Outside every root, through "..", or through a symbolic link (never followed). Decided before anything
    /// outside a root is looked at, so this says nothing about what exists there.
    case outsideRoots(String)
    case notFound(String)
    case unreadable(String, errno: Int32)
    case notRegularFile(String)
    /// The file was replaced while it was being opened.
    case changedWhileOpening(String)
    case tooLarge(String, bytes: Int, limit: Int)
    /// The file ended before the size it had when opened (it shrank while being read).
    case shorterThanStated(String, read: Int, stated: Int)

    public var description: String {
        switch self {
        case .noRootsConfigured: return "image paths are not accepted (no image roots configured)"
        case .notAbsolute(let path): return "image path must be absolute: \(path)"
        case .outsideRoots(let path):
            return "image path is outside the allowed roots (or passes through a link or \"..\"): \(path)"
        case .notFound(let path): return "no such file under the image roots: \(path)"
        case .unreadable(let path, let code): return "cannot read \(path): \(String(cString: strerror(code)))"
        case .notRegularFile(let path): return "not a regular file: \(path)"
        case .changedWhileOpening(let path): return "\(path) was replaced while it was being opened"
        case .tooLarge(let path, let bytes, let limit): return "\(path) has \(bytes) bytes, over the limit of \(limit)"
        case .shorterThanStated(let path, let read, let stated):
            return "\(path) ended after \(read) of its \(stated) bytes"
        }
    }
}

public struct ImageRoots: Sendable {
    /// One configured root: its directory held open, and the spellings a request path may start with.
    final class Root: Sendable {
        let descriptor: Int32
        /// The root as configured and with its links resolved, each as path components.
        let spellings: [[Substring]]

        init?(_ path: String) {
            let descriptor = ofa_open_directory(path)
            guard descriptor >= 0 else { return nil }
            self.descriptor = descriptor
            var spellings = [ImageRoots.components(path)]
            if let resolved = realpath(path, nil) {
                spellings.append(ImageRoots.components(String(cString: resolved)))
                free(resolved)
            }
            self.spellings = spellings.compactMap { $0 }
        }

        deinit { close(descriptor) }
    }

    let roots: [Root]

    /// Roots that do not exist (or are not directories) are dropped.
    public init(_ roots: [String]) {
        self.roots = roots.compactMap(Root.init)
    }

    /// The roots as they can be matched, links resolved (for logs and tests).
    public var resolvedRoots: [String] {
        roots.compactMap { $0.spellings.last.map { "/" + $0.joined(separator: "/") } }
    }

    /// The file's bytes, when the path names a regular file beneath one of the roots without passing through a
    /// link. At most `maximumBytes` are read.
    public func read(_ path: String, maximumBytes: Int) throws -> [UInt8] {
        guard !roots.isEmpty else { throw ImagePathError.noRootsConfigured }
        guard path.hasPrefix("/") else { throw ImagePathError.notAbsolute(path) }
        guard let parts = Self.components(path), let (root, relative) = match(parts) else {
            throw ImagePathError.outsideRoots(path)
        }
        var descriptor: Int32 = -1
        var code: Int32 = 0
        let status = ofa_open_beneath(root.descriptor, relative, &descriptor, &code)
        switch UInt32(status) {
        case OFA_OPEN_OK.rawValue: break
        case OFA_OPEN_ESCAPES.rawValue: throw ImagePathError.outsideRoots(path)
        case OFA_OPEN_NOT_FOUND.rawValue: throw ImagePathError.notFound(path)
        case OFA_OPEN_NOT_REGULAR.rawValue: throw ImagePathError.notRegularFile(path)
        case OFA_OPEN_CHANGED.rawValue: throw ImagePathError.changedWhileOpening(path)
        default: throw ImagePathError.unreadable(path, errno: code)
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw ImagePathError.unreadable(path, errno: errno) }
        let size = Int(info.st_size)
        guard size <= maximumBytes else { throw ImagePathError.tooLarge(path, bytes: size, limit: maximumBytes) }
        do {
            return try ExactRead.bytes(descriptor, count: size)
        } catch ExactReadError.failed(let code) {
            throw ImagePathError.unreadable(path, errno: code)
        } catch ExactReadError.endOfFile(let read, _) {
            throw ImagePathError.shorterThanStated(path, read: read, stated: size)
        }
    }

    /// The first root one of whose spellings `parts` starts with, and the rest of the path below it.
    private func match(_ parts: [Substring]) -> (Root, String)? {
        for root in roots {
            for spelling in root.spellings where parts.count > spelling.count && parts.starts(with: spelling) {
                return (root, parts[spelling.count...].joined(separator: "/"))
            }
        }
        return nil
    }

    /// The path's components without empty and "." ones; nil when it has a ".." (never resolved lexically).
    static func components(_ path: String) -> [Substring]? {
        let parts = path.split(separator: "/").filter { $0 != "." }
        return parts.contains("..") ? nil : parts
    }
}

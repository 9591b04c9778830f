// Positioned reads from a weights file, with every short read reported as truncation.
import Foundation

final class FileReader: @unchecked Sendable {
    let path: String
    let size: Int
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CheckpointError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            close(descriptor)
            throw CheckpointError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        size = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// Reads exactly `count` bytes at `offset` into `destination`.
    func read(into destination: UnsafeMutableRawPointer, offset: Int, count: Int) throws {
        try checkRange(offset: offset, count: count)
        do {
            try ExactRead.read(descriptor, into: destination, count: count, offset: offset)
        } catch ExactReadError.failed(let code) {
            throw CheckpointError.unreadable(path: path, reason: String(cString: strerror(code)))
        } catch {
            throw CheckpointError.corrupt(path: path, reason: "unexpected end of file")
        }
    }

    /// Checked before allocating, so a size field in the file cannot make us allocate more than the file holds.
    func bytes(offset: Int, count: Int) throws -> [UInt8] {
        try checkRange(offset: offset, count: count)
        var result = [UInt8](repeating: 0, count: count)
        try result.withUnsafeMutableBytes { try read(into: $0.baseAddress!, offset: offset, count: count) }
        return result
    }

    private func checkRange(offset: Int, count: Int) throws {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw CheckpointError.corrupt(
                path: path, reason: "range \(offset)+\(count) beyond the file's \(size) bytes")
        }
    }
}

/// Little-endian integer reads from a byte array, bounds-checked.
struct ByteCursor {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, count <= remaining else { return nil }
        defer { position += count }
        return bytes[position..<position + count]
    }

    mutating func integer(_ width: Int) -> UInt64? {
        guard let slice = take(width) else { return nil }
        var value: UInt64 = 0
        for (shift, byte) in slice.enumerated() { value |= UInt64(byte) << (8 * UInt64(shift)) }
        return value
    }
}

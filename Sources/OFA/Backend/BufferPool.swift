// Recycles large host buffers between requests so activations do not page-fault fresh memory on every layer.
import Foundation

final class BufferPool: @unchecked Sendable {
    /// Buffers smaller than this go straight to malloc, which already reuses them.
    static let minimumPooledBytes = 1 << 20
    private let capacity: Int
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var pooledBytes = 0
    private let lock = NSLock()

    /// `capacity`: most bytes kept idle in the pool.
    init(capacity: Int) { self.capacity = capacity }

    deinit {
        for (_, buffers) in free { buffers.forEach { Foundation.free($0) } }
    }

    func take(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes >= BufferPool.minimumPooledBytes {
            lock.lock()
            if let buffer = free[bytes]?.popLast() {
                pooledBytes -= bytes
                lock.unlock()
                return buffer
            }
            lock.unlock()
        }
        var address: UnsafeMutableRawPointer?
        guard posix_memalign(&address, 64, bytes) == 0, let address else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        return address
    }

    func give(_ buffer: UnsafeMutableRawPointer, bytes: Int) {
        if bytes >= BufferPool.minimumPooledBytes {
            lock.lock()
            if pooledBytes + bytes <= capacity {
                free[bytes, default: []].append(buffer)
                pooledBytes += bytes
                lock.unlock()
                return
            }
            lock.unlock()
        }
        Foundation.free(buffer)
    }
}

// Recycles large host buffers so activations do not page-fault fresh memory on every layer. Idle buffers are
// kept up to a byte budget, oldest evicted first, so the pool follows the sizes of the current work.
import Foundation

final class BufferPool: @unchecked Sendable {
    /// Buffers smaller than this go straight to malloc, which reuses them itself.
    static let minimumPooledBytes = 1 << 20
    private let capacity: Int
    /// Idle buffers, oldest first.
    private var idle: [(bytes: Int, address: UnsafeMutableRawPointer)] = []
    private var idleBytes = 0
    private let lock = NSLock()

    /// `capacity`: most bytes kept idle.
    init(capacity: Int) { self.capacity = capacity }

    deinit { for block in idle { free(block.address) } }

    func take(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes >= BufferPool.minimumPooledBytes {
            lock.lock()
            if let index = idle.lastIndex(where: { $0.bytes == bytes }) {
                let address = idle.remove(at: index).address
                idleBytes -= bytes
                lock.unlock()
                return address
            }
            lock.unlock()
        }
        var address: UnsafeMutableRawPointer?
        guard posix_memalign(&address, 64, bytes) == 0, let address else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        return address
    }

    func give(_ address: UnsafeMutableRawPointer, bytes: Int) {
        guard bytes >= BufferPool.minimumPooledBytes, bytes <= capacity else { return free(address) }
        lock.lock()
        idle.append((bytes, address))
        idleBytes += bytes
        var evicted: [UnsafeMutableRawPointer] = []
        while idleBytes > capacity {
            let oldest = idle.removeFirst()
            idleBytes -= oldest.bytes
            evicted.append(oldest.address)
        }
        lock.unlock()
        for address in evicted { free(address) }
    }
}

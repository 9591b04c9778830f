// Recycles large host buffers so activations do not page-fault fresh memory on every layer. Sizes are rounded up
// to size classes (eight per doubling), so nearly equal sizes share buffers. Idle buffers are
// kept up to a byte budget, oldest evicted first (also to make room for a size the pool lacks), so the pool follows
// the sizes of the current work. Work with a large working set (a relevance request) widens the budget while it
// runs and may keep it for a while after, for the next such request: fresh pages cost 0.3–0.7 s per GB to clear in
// this VM, and several times that the first time the host backs them. Large buffers are mapped and unmapped
// directly (not malloc's heap), so memory the pool lets go of leaves the process at once; from 4 MB on, their pages
// are mapped in at once, on every thread of the backend (C kernels' ofa_populate).
import CKernels
import Foundation

final class BufferPool: @unchecked Sendable {
    /// Buffers smaller than this go straight to malloc, which reuses them itself.
    static let minimumPooledBytes = 1 << 20
    /// Buffers from this size on are mapped populated.
    static let minimumPopulatedBytes = 4 << 20
    /// The threads that map a large buffer's pages in (the backend's; set before the pool is used).
    var populatingThreads = 1
    /// The byte budget for idle buffers: the base plus every widening in force, plus what a finished widening keeps.
    private var capacity: Int
    private var retained = 0
    /// Counts retentions, so that a release scheduled for one that a later widening took over does nothing.
    private var retention = 0
    private var budget: Int { capacity + retained }
    /// Idle buffers, oldest first.
    private var idle: [(bytes: Int, address: UnsafeMutableRawPointer)] = []
    private(set) var idleBytes = 0
    private let lock = NSLock()

    /// `capacity`: most bytes kept idle.
    init(capacity: Int) { self.capacity = capacity }

    /// Keeps up to `bytes` more idle while `body` runs (work with many large transients, such as a backward pass),
    /// and for `seconds` after (a widening that starts meanwhile takes that over), then lets the excess go.
    func widened<T>(by bytes: Int, keepingFor seconds: Double = 0, _ body: () throws -> T) rethrows -> T {
        lock.lock()
        capacity += bytes
        retained = 0
        retention &+= 1
        let evicted = evictOldest(keeping: budget)
        lock.unlock()
        BufferPool.release(evicted)
        defer {
            lock.lock()
            capacity -= bytes
            if seconds > 0 {
                retained = max(retained, bytes)
                retention &+= 1
                let scheduled = retention
                DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + seconds) { [weak self] in
                    self?.endRetention(scheduled)
                }
            }
            let evicted = evictOldest(keeping: budget)
            lock.unlock()
            BufferPool.release(evicted)
        }
        return try body()
    }

    private func endRetention(_ scheduled: Int) {
        lock.lock()
        guard scheduled == retention else { return lock.unlock() }
        retained = 0
        let evicted = evictOldest(keeping: budget)
        lock.unlock()
        BufferPool.release(evicted)
    }

    deinit { for block in idle { BufferPool.release(block.address, bytes: block.bytes) } }

    private static func release(_ address: UnsafeMutableRawPointer, bytes: Int) {
        if bytes >= minimumPooledBytes { munmap(address, bytes) } else { free(address) }
    }

    private static func release(_ blocks: [(address: UnsafeMutableRawPointer, bytes: Int)]) {
        for block in blocks { release(block.address, bytes: block.bytes) }
    }

    /// Removes idle buffers, oldest first, until at most `bytes` stay idle; the caller holds the lock and releases
    /// what comes back after unlocking.
    private func evictOldest(keeping bytes: Int) -> [(address: UnsafeMutableRawPointer, bytes: Int)] {
        var evicted: [(address: UnsafeMutableRawPointer, bytes: Int)] = []
        while !idle.isEmpty && idleBytes > bytes {
            let oldest = idle.removeFirst()
            idleBytes -= oldest.bytes
            evicted.append((oldest.address, oldest.bytes))
        }
        return evicted
    }

    /// The size a pooled buffer of `bytes` is mapped at: rounded up to one of eight steps per doubling (at most
    /// 1/8 more), so that nearly equal sizes share buffers. The ResNet's 14.4, 7.0 and 3.5 MB activations reuse the
    /// encoder's 14.6, 7.1 and 3.6 MB ones instead of each set evicting the other every query.
    static func sizeClass(_ bytes: Int) -> Int {
        let step = max(4096, (1 << (Int.bitWidth - 1 - bytes.leadingZeroBitCount)) / 8)
        return (bytes + step - 1) / step * step
    }

    func take(_ asked: Int) -> UnsafeMutableRawPointer {
        if asked >= BufferPool.minimumPooledBytes {
            let bytes = BufferPool.sizeClass(asked)
            lock.lock()
            if let index = idle.lastIndex(where: { $0.bytes == bytes }) {
                let address = idle.remove(at: index).address
                idleBytes -= bytes
                lock.unlock()
                return address
            }
            // A size the pool lacks: the work has moved on (the ResNet's sizes after the encoder's), so idle buffers
            // make room for it first instead of the process growing by it.
            let evicted = evictOldest(keeping: budget - bytes)
            lock.unlock()
            BufferPool.release(evicted)
            guard let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                address != MAP_FAILED
            else { fatalError("out of memory mapping \(bytes) bytes") }
            // Large buffers are populated when mapped: a few calls instead of a fault per 4 KB page, each costing
            // microseconds in a VM, and split over the threads.
            // Only the pages asked for: a larger size of the class later faults in the rest.
            if asked >= BufferPool.minimumPopulatedBytes {
                ofa_populate(address, (asked + 4095) / 4096 * 4096, Int32(populatingThreads))
            }
            return address
        }
        return BufferPool.allocateAligned(asked)
    }

    /// `bytes` from malloc, 64-byte aligned (for AVX-512 and oneDNN), released with `free`.
    static func allocateAligned(_ bytes: Int) -> UnsafeMutableRawPointer {
        var address: UnsafeMutableRawPointer?
        guard posix_memalign(&address, 64, bytes) == 0, let address else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        return address
    }

    func give(_ address: UnsafeMutableRawPointer, bytes asked: Int) {
        guard asked >= BufferPool.minimumPooledBytes else { return BufferPool.release(address, bytes: asked) }
        let bytes = BufferPool.sizeClass(asked)
        lock.lock()
        guard bytes <= budget else {
            lock.unlock()
            return BufferPool.release(address, bytes: bytes)
        }
        idle.append((bytes, address))
        idleBytes += bytes
        let evicted = evictOldest(keeping: budget)
        lock.unlock()
        BufferPool.release(evicted)
    }
}

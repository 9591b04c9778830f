// Where a CUDA backend's weights live from load to exit: a few large device blocks, carved first-fit (256-byte
// aligned) while the model loads, a loading step's temporaries (the separate q, k, v weights fused into one, tables
// transposed) given back for later weights to reuse; the blocks go when the last weight does. Activations come from
// the stream-ordered pool.
import Foundation

public final class WeightArena: @unchecked Sendable {
    /// Device memory is taken in blocks of at least this (OFA-large's 1.9 GB weights: 8 blocks).
    public static let blockBytes = 256 << 20
    static let alignment = 256

    private struct Block {
        let address: UInt64
        let bytes: Int
        /// Free ranges (offset, bytes), in offset order, none touching another.
        var free: [(offset: Int, bytes: Int)]

        /// Bytes up to the end of the last range in use.
        var extent: Int {
            guard let last = free.last, last.offset + last.bytes == bytes else { return bytes }
            return last.offset
        }
    }

    private let queue: GPUQueue
    let owner: ObjectIdentifier
    private let lock = NSLock()
    private var blocks: [Block] = []

    init(queue: GPUQueue, owner: ObjectIdentifier) {
        self.queue = queue
        self.owner = owner
    }

    static func rounded(_ bytes: Int) -> Int { (max(bytes, 1) + alignment - 1) / alignment * alignment }

    /// `bytes` from the first free range that holds them, or from a new block.
    func take(_ bytes: Int) throws(CUDAError) -> UInt64 {
        let size = WeightArena.rounded(bytes)
        lock.lock()
        defer { lock.unlock() }
        for index in blocks.indices {
            guard let slot = blocks[index].free.firstIndex(where: { $0.bytes >= size }) else { continue }
            let range = blocks[index].free[slot]
            if range.bytes == size {
                blocks[index].free.remove(at: slot)
            } else {
                blocks[index].free[slot] = (range.offset + size, range.bytes - size)
            }
            return blocks[index].address + UInt64(range.offset)
        }
        let blockSize = max(WeightArena.blockBytes, size)
        let address = try queue.allocate(blockSize)
        blocks.append(
            Block(address: address, bytes: blockSize, free: size < blockSize ? [(size, blockSize - size)] : []))
        return address
    }

    /// A tensor carved here at `address` was let go of: its range is free for the next weight.
    func giveBack(_ address: UInt64, bytes: Int) {
        let size = WeightArena.rounded(bytes)
        lock.lock()
        defer { lock.unlock() }
        guard let index = blocks.firstIndex(where: { address >= $0.address && address < $0.address + UInt64($0.bytes) })
        else { return }
        let offset = Int(address - blocks[index].address)
        var free = blocks[index].free
        let slot = free.firstIndex { $0.offset > offset } ?? free.count
        free.insert((offset, size), at: slot)
        // Joined with its neighbours where they touch.
        if slot + 1 < free.count, free[slot].offset + free[slot].bytes == free[slot + 1].offset {
            free[slot].bytes += free.remove(at: slot + 1).bytes
        }
        if slot > 0, free[slot - 1].offset + free[slot - 1].bytes == free[slot].offset {
            free[slot - 1].bytes += free.remove(at: slot).bytes
        }
        blocks[index].free = free
    }

    /// Device memory reserved in blocks, in use by tensors, and spanned by them (up to each block's last range in
    /// use: what the load's reuse of its temporaries keeps close to `used`).
    public var usage: (reserved: Int, used: Int, extent: Int) {
        lock.withLock {
            let reserved = blocks.reduce(0) { $0 + $1.bytes }
            let free = blocks.reduce(0) { total, block in total + block.free.reduce(0) { $0 + $1.bytes } }
            return (reserved, reserved - free, blocks.reduce(0) { $0 + $1.extent })
        }
    }

    deinit {
        for block in blocks { queue.release(block.address) }
    }
}

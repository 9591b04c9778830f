// A thread-safe least-recently-used cache bounded by entries or by bytes, counting hits, misses and evictions.
import Foundation
import OFAWire

public final class LRUCache<Key: Hashable & Sendable, Value>: @unchecked Sendable {
    /// What bounds the cache; a bound of 0 caches nothing.
    public enum Limit: Sendable, Equatable {
        /// At most this many entries.
        case entries(Int)
        /// At most this many bytes, each entry costing what `cost` says of its value.
        case bytes(Int)
    }

    private final class Node {
        let key: Key
        var value: Value
        var bytes: Int
        var newer: Node?
        weak var older: Node?
        init(key: Key, value: Value, bytes: Int) {
            self.key = key
            self.value = value
            self.bytes = bytes
        }
    }

    public let limit: Limit
    private let cost: (Value) -> Int
    private let lock = NSLock()
    private var nodes: [Key: Node] = [:]
    /// Most recently used; `newer` links run from `oldest` towards `newest`.
    private var newest: Node?
    private var oldest: Node?
    private var bytes = 0
    private var hits = 0
    private var misses = 0
    private var evictions = 0

    /// A cache of at most `capacity` entries.
    public convenience init(capacity: Int) {
        self.init(limit: .entries(max(0, capacity)), cost: { _ in 0 })
    }

    /// A cache of at most `bytes` bytes, `cost` giving each value's.
    public convenience init(bytes: Int, cost: @escaping (Value) -> Int) {
        self.init(limit: .bytes(max(0, bytes)), cost: cost)
    }

    private init(limit: Limit, cost: @escaping (Value) -> Int) {
        self.limit = limit
        self.cost = cost
    }

    public func value(for key: Key) -> Value? {
        lock.withLock {
            guard let node = nodes[key] else {
                misses += 1
                return nil
            }
            hits += 1
            unlink(node)
            pushNewest(node)
            return node.value
        }
    }

    /// Keeps `value` as the most recently used, evicting the least recently used entries over the limit. A value
    /// costing more bytes than the whole limit is not kept (and replaces nothing).
    public func insert(_ value: Value, for key: Key) {
        let size = cost(value)
        switch limit {
        case .entries(let most): guard most > 0 else { return }
        case .bytes(let most): guard most > 0, size <= most else { return }
        }
        lock.withLock {
            if let node = nodes[key] {
                bytes += size - node.bytes
                node.value = value
                node.bytes = size
                unlink(node)
                pushNewest(node)
            } else {
                let node = Node(key: key, value: value, bytes: size)
                nodes[key] = node
                bytes += size
                pushNewest(node)
            }
            while isOverLimit, let victim = oldest {
                unlink(victim)
                nodes[victim.key] = nil
                bytes -= victim.bytes
                evictions += 1
            }
        }
    }

    public var statistics: CacheStatistics {
        lock.withLock {
            switch limit {
            case .entries(let most):
                return CacheStatistics(
                    entries: nodes.count, capacity: most, hits: hits, misses: misses, evictions: evictions)
            case .bytes(let most):
                return CacheStatistics(
                    entries: nodes.count, bytes: bytes, byteLimit: most, hits: hits, misses: misses,
                    evictions: evictions)
            }
        }
    }

    private var isOverLimit: Bool {
        switch limit {
        case .entries(let most): return nodes.count > most
        case .bytes(let most): return bytes > most
        }
    }

    private func unlink(_ node: Node) {
        let older = node.older
        let newer = node.newer
        older?.newer = newer
        newer?.older = older
        if oldest === node { oldest = newer }
        if newest === node { newest = older }
        node.newer = nil
        node.older = nil
    }

    private func pushNewest(_ node: Node) {
        node.older = newest
        newest?.newer = node
        newest = node
        if oldest == nil { oldest = node }
    }
}

// A thread-safe least-recently-used cache with a bound on entries, counting hits, misses and evictions.
import Foundation
import OFAWire

public final class LRUCache<Key: Hashable & Sendable, Value>: @unchecked Sendable {
    private final class Node {
        let key: Key
        var value: Value
        var newer: Node?
        weak var older: Node?
        init(key: Key, value: Value) {
            self.key = key
            self.value = value
        }
    }

    public let capacity: Int
    private let lock = NSLock()
    private var nodes: [Key: Node] = [:]
    /// Most recently used; `newer` links run from `oldest` towards `newest`.
    private var newest: Node?
    private var oldest: Node?
    private var hits = 0
    private var misses = 0
    private var evictions = 0

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
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

    public func insert(_ value: Value, for key: Key) {
        guard capacity > 0 else { return }
        lock.withLock {
            if let node = nodes[key] {
                node.value = value
                unlink(node)
                pushNewest(node)
                return
            }
            let node = Node(key: key, value: value)
            nodes[key] = node
            pushNewest(node)
            while nodes.count > capacity, let victim = oldest {
                unlink(victim)
                nodes[victim.key] = nil
                evictions += 1
            }
        }
    }

    public var statistics: CacheStatistics {
        lock.withLock {
            CacheStatistics(entries: nodes.count, capacity: capacity, hits: hits, misses: misses, evictions: evictions)
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

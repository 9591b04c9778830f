// The least-recently-used cache: bounded by entries (results) or by bytes (image features).
import OFAWire
import XCTest

@testable import OFAServer

final class LRUCacheTests: XCTestCase {
    func testTheLeastRecentlyUsedEntryIsEvictedFirst() {
        let cache = LRUCache<String, Int>(capacity: 2)
        cache.insert(1, for: "a")
        cache.insert(2, for: "b")
        XCTAssertEqual(cache.value(for: "a"), 1)
        cache.insert(3, for: "c")
        XCTAssertNil(cache.value(for: "b"))
        XCTAssertEqual(cache.value(for: "a"), 1)
        XCTAssertEqual(cache.value(for: "c"), 3)
        XCTAssertEqual(cache.statistics, CacheStatistics(entries: 2, capacity: 2, hits: 3, misses: 1, evictions: 1))
    }

    func testAZeroCapacityCacheHoldsNothing() {
        let cache = LRUCache<String, Int>(capacity: 0)
        cache.insert(1, for: "a")
        XCTAssertNil(cache.value(for: "a"))
    }

    /// Values are their own cost in bytes.
    private func byteCache(_ limit: Int) -> LRUCache<String, Int> { LRUCache(bytes: limit) { $0 } }

    func testABytesBoundedCacheEvictsTheLeastRecentlyUsedUntilTheNewEntryFits() {
        let cache = byteCache(100)
        cache.insert(40, for: "a")
        cache.insert(40, for: "b")
        XCTAssertEqual(cache.value(for: "a"), 40)
        cache.insert(40, for: "c")
        XCTAssertNil(cache.value(for: "b"), "b was the least recently used")
        XCTAssertEqual(cache.statistics.bytes, 80)
        cache.insert(90, for: "d")
        XCTAssertNil(cache.value(for: "a"))
        XCTAssertNil(cache.value(for: "c"))
        XCTAssertEqual(cache.value(for: "d"), 90)
        XCTAssertEqual(
            cache.statistics,
            CacheStatistics(entries: 1, bytes: 90, byteLimit: 100, hits: 2, misses: 3, evictions: 3))
    }

    func testAnEntryLargerThanTheWholeBudgetIsNotCachedAndEvictsNothing() {
        let cache = byteCache(100)
        cache.insert(60, for: "small")
        cache.insert(101, for: "large")
        XCTAssertNil(cache.value(for: "large"))
        XCTAssertEqual(cache.value(for: "small"), 60)
        XCTAssertEqual(cache.statistics.entries, 1)
        XCTAssertEqual(cache.statistics.bytes, 60)
        XCTAssertEqual(cache.statistics.evictions, 0)
    }

    func testReplacingAnEntryChargesItsNewSize() {
        let cache = byteCache(100)
        cache.insert(30, for: "a")
        cache.insert(50, for: "b")
        cache.insert(70, for: "a")
        XCTAssertNil(cache.value(for: "b"), "b was evicted to make room for the larger a")
        XCTAssertEqual(cache.statistics.bytes, 70)
    }

    func testAZeroByteLimitCachesNothing() {
        let cache = byteCache(0)
        cache.insert(0, for: "free")
        XCTAssertNil(cache.value(for: "free"))
        XCTAssertEqual(cache.statistics.byteLimit, 0)
    }
}

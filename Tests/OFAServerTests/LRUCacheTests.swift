// The LRU cache: eviction order, statistics, and a zero capacity.
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
}

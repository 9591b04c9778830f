// The CPU backend's buffer pool reuses large buffers, keeps no more idle than its capacity, and makes room for a new
// size before growing.
import XCTest

@testable import OFA

final class BufferPoolTests: XCTestCase {
    private let megabyte = 1 << 20

    func testABufferGivenBackIsHandedOutAgainForTheSameSize() {
        let pool = BufferPool(capacity: 16 * megabyte)
        let first = pool.take(4 * megabyte)
        pool.give(first, bytes: 4 * megabyte)
        XCTAssertEqual(pool.idleBytes, 4 * megabyte)
        XCTAssertEqual(pool.take(4 * megabyte), first)
        XCTAssertEqual(pool.idleBytes, 0)
    }

    func testIdleBuffersPastTheCapacityAreReleasedOldestFirst() {
        let pool = BufferPool(capacity: 8 * megabyte)
        let buffers = (0..<3).map { _ in pool.take(3 * megabyte) }
        for buffer in buffers { pool.give(buffer, bytes: 3 * megabyte) }
        XCTAssertEqual(pool.idleBytes, 6 * megabyte)
        // The newest two are kept: the next two takes get them back, newest first.
        XCTAssertEqual(pool.take(3 * megabyte), buffers[2])
        XCTAssertEqual(pool.take(3 * megabyte), buffers[1])
    }

    func testASizeThePoolLacksMakesRoomByReleasingIdleBuffersBeforeMappingMore() {
        let pool = BufferPool(capacity: 8 * megabyte)
        let small = (0..<2).map { _ in pool.take(3 * megabyte) }
        for buffer in small { pool.give(buffer, bytes: 3 * megabyte) }
        XCTAssertEqual(pool.idleBytes, 6 * megabyte)
        let large = pool.take(5 * megabyte)
        XCTAssertEqual(pool.idleBytes, 3 * megabyte, "one idle buffer released so idle + new stays within capacity")
        pool.give(large, bytes: 5 * megabyte)
    }

    func testAWidenedPoolKeepsMoreWhileItsWorkRunsAndLetsTheExcessGoAfter() {
        let pool = BufferPool(capacity: 4 * megabyte)
        pool.widened(by: 8 * megabyte) {
            let buffers = (0..<3).map { _ in pool.take(3 * megabyte) }
            for buffer in buffers { pool.give(buffer, bytes: 3 * megabyte) }
            XCTAssertEqual(pool.idleBytes, 9 * megabyte)
        }
        XCTAssertEqual(pool.idleBytes, 3 * megabyte)
    }

    func testBuffersLargerThanTheCapacityAreNeverKept() {
        let pool = BufferPool(capacity: 2 * megabyte)
        pool.give(pool.take(4 * megabyte), bytes: 4 * megabyte)
        XCTAssertEqual(pool.idleBytes, 0)
    }
}

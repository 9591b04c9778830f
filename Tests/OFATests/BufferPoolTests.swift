// The CPU backend's buffer pool reuses large buffers (nearly equal sizes sharing one of their size class), keeps no
// more idle than its capacity, makes room for a new size before growing, and keeps a finished widening's memory for
// its retention period only.
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

    func testNearlyEqualSizesShareTheBufferOfTheirSizeClass() {
        // The encoder's feed-forward rows (914 × 4096 floats) and a ResNet stage's output (120 × 120 × 256).
        let encoder = 914 * 4096 * 4
        let resnet = 120 * 120 * 256 * 4
        XCTAssertEqual(BufferPool.sizeClass(encoder), BufferPool.sizeClass(resnet))
        let pool = BufferPool(capacity: 64 * megabyte)
        let buffer = pool.take(encoder)
        pool.give(buffer, bytes: encoder)
        XCTAssertEqual(pool.take(resnet), buffer)
        pool.give(buffer, bytes: resnet)
        XCTAssertEqual(pool.idleBytes, BufferPool.sizeClass(encoder), "counted at its class's size")
    }

    func testASizeClassIsAtMostAnEighthLargerAndExactOnItsSteps() {
        for bytes in [megabyte, megabyte + 1, 3 * megabyte, 914 * 1024 * 4, 16 * 914 * 914 * 4, 7 * megabyte - 1] {
            let size = BufferPool.sizeClass(bytes)
            XCTAssertGreaterThanOrEqual(size, bytes)
            XCTAssertLessThanOrEqual(size - bytes, bytes / 8, "\(bytes)")
            XCTAssertEqual(size % 4096, 0, "whole pages")
            XCTAssertEqual(BufferPool.sizeClass(size), size, "a class's own size is its class")
        }
        XCTAssertEqual(BufferPool.sizeClass(5 * megabyte), 5 * megabyte)
        XCTAssertEqual(BufferPool.sizeClass(5 * megabyte + 1), 5 * megabyte + megabyte / 2)
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

    /// Waits up to 10 s for `condition`.
    private func eventually(_ condition: () -> Bool) -> Bool {
        for _ in 0..<1000 where !condition() { usleep(10_000) }
        return condition()
    }

    func testAFinishedWideningsMemoryStaysForItsRetentionPeriodThenGoes() {
        let pool = BufferPool(capacity: 4 * megabyte)
        let buffers = pool.widened(by: 8 * megabyte, keepingFor: 0.3) {
            let buffers = (0..<3).map { _ in pool.take(3 * megabyte) }
            for buffer in buffers { pool.give(buffer, bytes: 3 * megabyte) }
            return buffers
        }
        XCTAssertEqual(pool.idleBytes, 9 * megabyte, "kept for the next widening")
        XCTAssertTrue(eventually { pool.idleBytes == 3 * megabyte }, "released after the retention period")
        XCTAssertEqual(pool.take(3 * megabyte), buffers[2], "the newest kept")
    }

    func testAWideningThatStartsDuringARetentionTakesItsMemoryOver() {
        let pool = BufferPool(capacity: 4 * megabyte)
        pool.widened(by: 8 * megabyte, keepingFor: 0.2) {
            let buffers = (0..<3).map { _ in pool.take(3 * megabyte) }
            for buffer in buffers { pool.give(buffer, bytes: 3 * megabyte) }
        }
        pool.widened(by: 8 * megabyte) {
            // Past the first retention period: its release was cancelled by this widening.
            usleep(500_000)
            XCTAssertEqual(pool.idleBytes, 9 * megabyte)
        }
        XCTAssertEqual(pool.idleBytes, 3 * megabyte, "this widening keeps nothing after")
    }

    func testALargeBufferComesWithEveryPageMappedInAndZeroOnEveryThreadCount() {
        for threads in [1, 2, 3] {
            let pool = BufferPool(capacity: 0)
            pool.populatingThreads = threads
            let bytes = 8 * megabyte + 4096 * 3
            let address = pool.take(bytes)
            let pages = (bytes + 4095) / 4096
            var resident = [UInt8](repeating: 0, count: pages)
            XCTAssertEqual(mincore(address, bytes, &resident), 0)
            XCTAssertEqual(resident.filter { $0 & 1 == 0 }.count, 0, "pages not mapped in, \(threads) threads")
            let bytesRead = UnsafeRawBufferPointer(start: address, count: bytes)
            XCTAssertTrue(bytesRead.allSatisfy { $0 == 0 })
            pool.give(address, bytes: bytes)
        }
    }
}

// The CUDA backend's weight arena on the host: first-fit carving, 256-byte alignment, a given-back range reused and
// joined with its free neighbours, blocks only when nothing free holds a tensor.
import FixtureSupport
import XCTest

@testable import OFA

final class WeightArenaTests: XCTestCase {
    private func arena() throws -> WeightArena {
        let queue: HostQueue
        do { queue = try HostQueue() } catch let error as HostQueue.Unavailable { throw XCTSkip(error.description) }
        return WeightArena(queue: queue, owner: ObjectIdentifier(queue))
    }

    func testRangesAreCarvedInOrderAlignedAndAGivenBackOneIsReused() throws {
        let arena = try arena()
        let a = try arena.take(1000)
        let b = try arena.take(4096)
        let c = try arena.take(10)
        XCTAssertEqual(b - a, 1024, "1000 bytes rounded up to 256")
        XCTAssertEqual(c - b, 4096)
        XCTAssertEqual(arena.usage.used, 1024 + 4096 + 256)
        arena.giveBack(b, bytes: 4096)
        XCTAssertEqual(arena.usage.used, 1024 + 256)
        XCTAssertEqual(arena.usage.extent, 1024 + 4096 + 256, "the hole is inside what is spanned")
        XCTAssertEqual(try arena.take(3000), b, "first fit: the hole")
        XCTAssertEqual(try arena.take(512), b + 3072, "the rest of the hole")
        XCTAssertEqual(try arena.take(1024), c + 256, "past the last range: the hole has 512 bytes left")
        XCTAssertEqual(arena.usage.reserved, WeightArena.blockBytes, "one block")
    }

    func testGivenBackNeighboursJoinSoALargerTensorFitsWhereTheyWere() throws {
        let arena = try arena()
        let ranges = try (0..<4).map { _ in try arena.take(256) }
        arena.giveBack(ranges[1], bytes: 256)
        arena.giveBack(ranges[2], bytes: 256)
        XCTAssertEqual(try arena.take(512), ranges[1], "two joined holes hold 512 bytes")
        for (index, range) in ranges.enumerated() where index != 1 && index != 2 { arena.giveBack(range, bytes: 256) }
        arena.giveBack(ranges[1], bytes: 512)
        XCTAssertEqual(arena.usage.used, 0)
        XCTAssertEqual(arena.usage.extent, 0, "everything joined into one free range")
        XCTAssertEqual(try arena.take(WeightArena.blockBytes), ranges[0], "the whole block again")
    }

    func testATensorLargerThanABlockGetsABlockOfItsOwn() throws {
        let arena = try arena()
        _ = try arena.take(256)
        _ = try arena.take(WeightArena.blockBytes + 1)
        XCTAssertEqual(arena.usage.reserved, 2 * WeightArena.blockBytes + 256)
        XCTAssertEqual(arena.usage.used, 256 + WeightArena.blockBytes + 256)
    }
}

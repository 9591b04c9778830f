// Image paths: read whole from under the roots, or refused with the reason; never a silently truncated image.
import Foundation
import XCTest

@testable import OFAServer

final class ImageRootsTests: XCTestCase {
    func testAFileUnderARootIsReadWhole() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bytes = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try Data(bytes).write(to: URL(fileURLWithPath: root + "/image.png"))
        XCTAssertEqual(try ImageRoots([root]).read(root + "/image.png", maximumBytes: 1 << 20), bytes)
    }

    func testAFileShorterThanItsStatedSizeIsAnErrorNotTruncatedBytes() throws {
        // sysfs files state 4096 bytes and hold fewer: what a file cut short while being read looks like.
        let path = "/sys/kernel/profiling"
        var info = stat()
        guard stat(path, &info) == 0, info.st_size == 4096 else {
            throw XCTSkip("SKIPPED: needs sysfs at /sys (\(path) stating 4096 bytes)")
        }
        XCTAssertThrowsError(try ImageRoots(["/sys/kernel"]).read(path, maximumBytes: 1 << 20)) {
            guard case .shorterThanStated(path, let read, 4096)? = $0 as? ImagePathError else {
                return XCTFail("\($0)")
            }
            XCTAssertLessThan(read, 4096)
        }
    }

    func testAPathOutsideTheRootsOrThroughALinkOutIsRefused() throws {
        let root = try makeTemporaryDirectory()
        let elsewhere = try makeTemporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: elsewhere)
        }
        let outside = elsewhere + "/image.png"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: outside))
        try FileManager.default.createSymbolicLink(atPath: root + "/out", withDestinationPath: outside)
        let roots = ImageRoots([root])
        XCTAssertThrowsError(try roots.read(outside, maximumBytes: 1 << 20)) {
            XCTAssertEqual($0 as? ImagePathError, .outsideRoots(outside))
        }
        XCTAssertThrowsError(try roots.read(root + "/out", maximumBytes: 1 << 20)) {
            XCTAssertEqual($0 as? ImagePathError, .outsideRoots(root + "/out"))
        }
    }

    func testTheExistenceOfAFileOutsideTheRootsIsNotRevealed() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let roots = ImageRoots([root])
        for path in ["/etc/passwd", "/etc/no-such-file", root + "/../etc/passwd", root + "/a/../../etc/passwd"] {
            XCTAssertThrowsError(try roots.read(path, maximumBytes: 1 << 20)) {
                XCTAssertEqual($0 as? ImagePathError, .outsideRoots(path))
            }
        }
        XCTAssertThrowsError(try roots.read(root + "/missing.png", maximumBytes: 1 << 20)) {
            XCTAssertEqual($0 as? ImagePathError, .notFound(root + "/missing.png"))
        }
    }

    func testALinkAnywhereInThePathIsRefusedEvenOneThatStaysInside() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/real", withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: root + "/real/image.png"))
        try FileManager.default.createSymbolicLink(atPath: root + "/alias", withDestinationPath: root + "/real")
        let roots = ImageRoots([root])
        XCTAssertEqual(try roots.read(root + "/real/image.png", maximumBytes: 16), [1, 2, 3])
        XCTAssertEqual(try roots.read(root + "/./real//image.png", maximumBytes: 16), [1, 2, 3])
        XCTAssertThrowsError(try roots.read(root + "/alias/image.png", maximumBytes: 16)) {
            XCTAssertEqual($0 as? ImagePathError, .outsideRoots(root + "/alias/image.png"))
        }
    }

    func testAFIFOInTheRootIsRefusedAtOnceWithoutBeingOpened() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        XCTAssertEqual(mkfifo(root + "/pipe.png", 0o644), 0)
        let start = Date()
        XCTAssertThrowsError(try ImageRoots([root]).read(root + "/pipe.png", maximumBytes: 1 << 20)) {
            XCTAssertEqual($0 as? ImagePathError, .notRegularFile(root + "/pipe.png"))
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1, "a FIFO must not make the reader wait for a writer")
        XCTAssertThrowsError(try ImageRoots([root]).read(root, maximumBytes: 1 << 20)) {
            XCTAssertEqual($0 as? ImagePathError, .outsideRoots(root), "the root itself is no file beneath it")
        }
    }

    func testADirectorySwappedForALinkOutWhileReadingNeverLeadsOutside() throws {
        let root = try makeTemporaryDirectory()
        let elsewhere = try makeTemporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: elsewhere)
        }
        let inside: [UInt8] = [1, 1, 1]
        let outside: [UInt8] = [6, 6, 6]
        try FileManager.default.createDirectory(atPath: root + "/real", withIntermediateDirectories: true)
        try Data(inside).write(to: URL(fileURLWithPath: root + "/real/image.png"))
        try Data(outside).write(to: URL(fileURLWithPath: elsewhere + "/image.png"))
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: elsewhere)
        // The attacker renames a link to the outside directory over "d" and the real directory back, endlessly.
        XCTAssertEqual(rename(root + "/real", root + "/d"), 0)
        let stop = DispatchSemaphore(value: 0)
        let swapper = Thread {
            while stop.wait(timeout: .now()) == .timedOut {
                rename(root + "/d", root + "/real")
                rename(root + "/link", root + "/d")
                rename(root + "/d", root + "/link")
                rename(root + "/real", root + "/d")
            }
        }
        swapper.start()
        defer { stop.signal() }
        let roots = ImageRoots([root])
        var readInside = 0
        for _ in 0..<3000 {
            guard let bytes = try? roots.read(root + "/d/image.png", maximumBytes: 16) else { continue }
            XCTAssertEqual(bytes, inside, "bytes from outside the root came back")
            if bytes != inside { break }
            readInside += 1
        }
        XCTAssertGreaterThan(readInside, 0, "the file inside was readable at some point")
    }
}

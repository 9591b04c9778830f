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
}

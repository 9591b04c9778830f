// Positioned exact reads: all the bytes asked for, or an error that says why; never fewer bytes.
import Foundation
import XCTest

@testable import OFA

final class ExactReadTests: XCTestCase {
    private func temporaryFile(_ bytes: [UInt8]) throws -> (path: String, descriptor: Int32) {
        let path = NSTemporaryDirectory() + "exact-read-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, open(path, O_RDONLY))
    }

    func testTheBytesAskedForAreReadFromTheOffset() throws {
        let file = try temporaryFile(Array(0..<100))
        defer {
            close(file.descriptor)
            unlink(file.path)
        }
        XCTAssertEqual(try ExactRead.bytes(file.descriptor, count: 5, offset: 10), [10, 11, 12, 13, 14])
        XCTAssertEqual(try ExactRead.bytes(file.descriptor, count: 0, offset: 100), [])
    }

    func testAFileThatEndsEarlyIsAnErrorSayingHowMuchWasRead() throws {
        let file = try temporaryFile(Array(repeating: 7, count: 10))
        defer {
            close(file.descriptor)
            unlink(file.path)
        }
        XCTAssertThrowsError(try ExactRead.bytes(file.descriptor, count: 16, offset: 0)) {
            XCTAssertEqual($0 as? ExactReadError, .endOfFile(read: 10, expected: 16))
        }
    }

    func testAFailingReadIsAnErrorWithItsErrorNumber() throws {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        defer { for end in ends { close(end) } }
        // A pipe has no positions: pread fails with ESPIPE.
        XCTAssertThrowsError(try ExactRead.bytes(ends[0], count: 4)) {
            XCTAssertEqual($0 as? ExactReadError, .failed(errno: ESPIPE))
        }
    }
}

// .npy writing and reading against files numpy wrote (np.save, numpy 2.x).
import Foundation
import XCTest

@testable import OFAWire

final class NPYFileTests: XCTestCase {
    /// Tests/Fixtures/visualize/npy, written by Tools/fixtures/make_visualize_fixtures.py.
    func file(_ name: String) throws -> [UInt8] {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/visualize/npy")
        return [UInt8](try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    func testTheWriterEmitsExactlyTheBytesNumpySaves() throws {
        for name in ["map-4x4", "vector-5", "tensor-2x3x4", "scalar", "empty-0x3", "wide-30x30"] {
            let bytes = try file("\(name).npy")
            let array = try NPYFile.decode(bytes)
            XCTAssertEqual(NPYFile.encode(array), bytes, name)
        }
    }

    func testTheReaderGivesShapeAndValues() throws {
        let array = try NPYFile.decode(try file("tensor-2x3x4.npy"))
        XCTAssertEqual(array.shape, [2, 3, 4])
        XCTAssertEqual(array.values.count, 24)
        XCTAssertEqual(try NPYFile.decode(try file("scalar.npy")), NPYArray(shape: [], values: [1.5]))
        XCTAssertEqual(try NPYFile.decode(try file("empty-0x3.npy")).shape, [0, 3])
    }

    func testAWireFloatArrayWritesWithItsShapeAndReadsBack() throws {
        let array = FloatArray(shape: [1, 3, 2], values: [0, 0.5, 1, -1, 2, 3.25])
        let decoded = try NPYFile.decode(NPYFile.encode(NPYArray(array)))
        XCTAssertEqual(decoded.shape, [1, 3, 2])
        XCTAssertEqual(decoded.values, array.values)
    }

    func testOtherTypesFortranOrderTruncationAndForeignBytesAreRejectedByName() throws {
        XCTAssertThrowsError(try NPYFile.decode(try file("big-endian.npy"))) {
            XCTAssertEqual($0 as? NPYError, .unsupportedType(descr: ">f4"))
        }
        XCTAssertThrowsError(try NPYFile.decode(try file("float64.npy"))) {
            XCTAssertEqual($0 as? NPYError, .unsupportedType(descr: "<f8"))
        }
        XCTAssertThrowsError(try NPYFile.decode(try file("fortran.npy"))) {
            XCTAssertEqual($0 as? NPYError, .fortranOrder)
        }
        XCTAssertThrowsError(try NPYFile.decode(try file("truncated.npy"))) {
            XCTAssertEqual($0 as? NPYError, .truncated(expected: 192, actual: 187))
        }
        XCTAssertThrowsError(try NPYFile.decode(Array("PK\u{3}\u{4} not numpy".utf8))) {
            XCTAssertEqual($0 as? NPYError, .notNPY)
        }
    }
}

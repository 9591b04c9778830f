// .npy writing and reading against files numpy wrote (np.save, numpy 2.x).
import Foundation
import XCTest

@testable import Visualize

final class NPYFileTests: XCTestCase {
    func file(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: VisualizeFixtures.url("visualize/npy/\(name)")))
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

    func testAMapWritesAsRowsByColumnsAndReadsBack() throws {
        let map = try VisualizeFixtures.heatmap("synthetic.5x7")
        let array = try NPYFile.decode(map.npy())
        XCTAssertEqual(array.shape, [5, 7])
        XCTAssertEqual(array.values, map.values)
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

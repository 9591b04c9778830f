// A map's .npy file: rows × columns float32, read back as written.
import OFAWire
import XCTest

@testable import Visualize

final class HeatmapNPYTests: XCTestCase {
    func testAMapWritesAsRowsByColumnsAndReadsBack() throws {
        let map = try VisualizeFixtures.heatmap("synthetic.5x7")
        let array = try NPYFile.decode(map.npy())
        XCTAssertEqual(array.shape, [5, 7])
        XCTAssertEqual(array.values, map.values)
    }
}

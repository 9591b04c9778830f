// Statistics and patch geometry against the numpy reference.
import OFA
import XCTest

@testable import Visualize

final class MapStatisticsTests: XCTestCase {
    func testEveryStatisticMatchesTheNumpyReference() throws {
        let cases = VisualizeFixtures.description["statistics"] as! [[String: Any]]
        XCTAssertEqual(cases.count, 14)
        for expected in cases {
            let name = expected["source"] as! String
            let stats = try VisualizeFixtures.heatmap(name).statistics(
                imageWidth: expected["width"] as! Int, imageHeight: expected["height"] as! Int,
                focusThreshold: expected["threshold"] as! Double, topK: expected["k"] as! Int)
            let close = { (a: Double, key: String) in
                XCTAssertEqual(
                    a, expected[key] as! Double, accuracy: 1e-6 * max(1, abs(expected[key] as! Double)),
                    "\(name) \(key)")
            }
            close(stats.mean, "mean")
            close(stats.max, "max")
            close(stats.min, "min")
            close(stats.std, "std")
            close(stats.entropy, "entropy")
            close(stats.normalizedEntropy, "normalized_entropy")
            // Exact in both; the tolerance only absorbs Foundation's JSON number parsing (last-digit errors).
            XCTAssertEqual(stats.focusArea, expected["focus_area"] as! Double, accuracy: 1e-12, "\(name) focus_area")
            let center = expected["center_of_mass"] as! [Double]
            XCTAssertEqual(stats.centerOfMass.x, center[0], accuracy: 1e-4, name)
            XCTAssertEqual(stats.centerOfMass.y, center[1], accuracy: 1e-4, name)
            let top = expected["top"] as! [[String: Any]]
            XCTAssertEqual(stats.topPatches.map(\.index), top.map { $0["index"] as! Int }, name)
            for (patch, reference) in zip(stats.topPatches, top) {
                let box = reference["box"] as! [Double]
                for (value, reference) in zip([patch.box.x0, patch.box.y0, patch.box.x1, patch.box.y1], box) {
                    XCTAssertEqual(value, reference, accuracy: 1e-12, name)
                }
                XCTAssertEqual(patch.value, reference["value"] as! Double, accuracy: 1e-7)
            }
        }
    }

    func testTiesInTheTopPatchesGoToTheLowerIndex() throws {
        let stats = try VisualizeFixtures.heatmap("synthetic.ties.4x4").statistics(
            imageWidth: 4, imageHeight: 4,
            topK: 4)
        XCTAssertEqual(stats.topPatches.map(\.index), [4, 6, 13, 1])
    }

    func testStatisticsEncodeAsJSONWithTheirMethod() throws {
        let stats = try VisualizeFixtures.heatmap("synthetic.1x3").statistics(imageWidth: 30, imageHeight: 10)
        let json = String(decoding: try JSONEncoder().encode(stats), as: UTF8.self)
        XCTAssertTrue(json.contains("\"focusArea\""))
        XCTAssertTrue(json.contains("\"name\":\"synthetic.1x3\""))
    }
}

final class PatchGridTests: XCTestCase {
    func testPatchBoxesStretchTheSquareGridOverTheOriginalImage() {
        let grid = PatchGrid(rows: 30, columns: 30)
        let first = grid.box(row: 0, column: 0, imageWidth: 1024, imageHeight: 768)
        XCTAssertEqual(first, PixelBox(x0: 0, y0: 0, x1: 1024.0 / 30, y1: 25.6))
        let last = grid.box(row: 29, column: 29, imageWidth: 1024, imageHeight: 768)
        XCTAssertEqual(last.x1, 1024)
        XCTAssertEqual(last.y1, 768)
        let center = grid.center(row: 1, column: 2, imageWidth: 300, imageHeight: 600)
        XCTAssertEqual(center.x, 25)
        XCTAssertEqual(center.y, 30)
    }
}

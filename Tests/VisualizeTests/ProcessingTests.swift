// Smoothing, upsampling and sharpening against scipy/numpy references (maps.json says which).
import OFA
import XCTest

@testable import Visualize

final class GaussianSmoothingTests: XCTestCase {
    func testSmoothingMatchesScipyGaussianFilterReflectTruncate4IncludingKernelsWiderThanTheGrid() throws {
        let entries = VisualizeFixtures.entries(kind: "smooth")
        XCTAssertEqual(entries.count, 12)
        for entry in entries {
            let source = try VisualizeFixtures.heatmap(entry["source"] as! String)
            let smoothed = source.smoothed(sigma: entry["sigma"] as! Double)
            let expected = VisualizeFixtures.maps[entry["name"] as! String]!.floats
            XCTAssertLessThan(maxDifference(smoothed.values, expected), 1e-6, entry["name"] as! String)
            XCTAssertTrue(smoothed.method.steps.last!.hasPrefix("gaussian(sigma="))
        }
    }

    func testReflectionRepeatsHalfSampleSymmetricallyFarOutside() {
        XCTAssertEqual(
            (-7...9).map { GaussianSmoothing.reflect($0, count: 3) },
            [0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2])
    }

    func testSigmaZeroLeavesTheMapAlone() throws {
        let map = try VisualizeFixtures.heatmap("synthetic.5x7")
        XCTAssertEqual(map.smoothed(sigma: 0), map)
    }
}

final class BilinearUpsamplingTests: XCTestCase {
    func testUpsamplingMatchesTheHalfPixelCentreReference() throws {
        let entries = VisualizeFixtures.entries(kind: "upsample")
        XCTAssertEqual(entries.count, 12)
        for entry in entries {
            let source = try VisualizeFixtures.heatmap(entry["source"] as! String)
            let width = entry["width"] as! Int
            let height = entry["height"] as! Int
            let field = BilinearUpsampling.upsample(
                source.values, rows: source.grid.rows, columns: source.grid.columns,
                width: width, height: height)
            let expected = VisualizeFixtures.maps[entry["name"] as! String]!.floats
            XCTAssertLessThan(maxDifference(field, expected), 2e-6, entry["name"] as! String)
        }
    }

    func testAConstantMapStaysConstantAndEachPatchCentreKeepsItsValueWhenTheSizeDivides() {
        XCTAssertEqual(
            Set(
                BilinearUpsampling.upsample(
                    [0.25, 0.25, 0.25, 0.25], rows: 2, columns: 2, width: 9,
                    height: 5)), [0.25])
        let field = BilinearUpsampling.upsample([0, 1, 2, 3], rows: 2, columns: 2, width: 4, height: 4)
        // Pixel 0 and 3 lie beyond the outer patch centres: clamped to the patch value.
        XCTAssertEqual(field[0], 0)
        XCTAssertEqual(field[15], 3)
        XCTAssertEqual(field[1], 0.25)
    }
}

final class SharpeningTests: XCTestCase {
    func testTemperatureSharpeningMatchesTheReferenceAndKeepsTheTotal() throws {
        let entries = VisualizeFixtures.entries(kind: "sharpen")
        XCTAssertEqual(entries.count, 8)
        for entry in entries {
            let source = try VisualizeFixtures.heatmap(entry["source"] as! String)
            let sharpened = source.sharpened(temperature: entry["temperature"] as! Double)
            XCTAssertLessThan(
                maxDifference(sharpened.values, VisualizeFixtures.maps[entry["name"] as! String]!.floats),
                1e-6)
            XCTAssertEqual(sharpened.values.reduce(0, +), source.values.reduce(0, +), accuracy: 1e-5)
        }
    }

    func testMinMaxNormalisationSpansZeroToOneAndAConstantMapIsZero() throws {
        let map = try Heatmap(grid: PatchGrid(rows: 1, columns: 3), values: [2, 4, 3], method: MapMethod(name: "t"))
        XCTAssertEqual(map.normalized(), [0, 1, 0.5])
        XCTAssertEqual(map.normalized(.fixed(lower: 3, upper: 5)), [0, 0.5, 0])
        let constant = try Heatmap(grid: PatchGrid(rows: 1, columns: 2), values: [7, 7], method: MapMethod(name: "t"))
        XCTAssertEqual(constant.normalized(), [0, 0])
    }
}

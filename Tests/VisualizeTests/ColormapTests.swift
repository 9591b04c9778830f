// Colormaps against matplotlib's lookup tables (colormaps.json from matplotlib, bytes=True).
import OFA
import XCTest

@testable import Visualize

final class ColormapTests: XCTestCase {
    let reference = try! VisualizeFixtures.json("visualize/colormaps.json")

    func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8).map { $0 <= 57 ? $0 - 48 : $0 - 87 }
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    func testEveryColormapTableMatchesMatplotlibWithinOneStepPerChannel() {
        let luts = reference["luts"] as! [String: String]
        for map in Colormap.all {
            let expected = bytes(luts[map.name]!)
            let worst = zip(map.table, expected).map { abs(Int($0) - Int($1)) }.max()!
            XCTAssertLessThanOrEqual(worst, 1, map.name)
            // Built the same way, the tables are in fact identical.
            XCTAssertEqual(map.table, expected, map.name)
        }
    }

    func testValuesMapToColoursAsMatplotlibMapsFloat32InputIncludingBinEdgesAndClipping() {
        let samples = (reference["samples"] as! [Double]).map(Float.init)
        let colors = reference["colors"] as! [String: String]
        for map in Colormap.all {
            let expected = bytes(colors[map.name]!)
            for (i, x) in samples.enumerated() {
                let c = map.color(x)
                XCTAssertEqual([c.red, c.green, c.blue], Array(expected[(i * 3)..<(i * 3 + 3)]), "\(map.name) at \(x)")
            }
        }
    }

    func testJetIsTheDefaultAndColormapsAreFoundByName() {
        XCTAssertEqual(RenderOptions().colormap, .jet)
        XCTAssertEqual(Colormap.named("Viridis"), .viridis)
        XCTAssertNil(Colormap.named("parula"))
    }
}

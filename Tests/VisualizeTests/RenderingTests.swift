import FixtureSupport
import ImageIO
// Overlays, colorbars, labels, grids and animations: sizes, blending and structure.
import OFA
import XCTest

@testable import Visualize

final class HeatmapOverlayTests: XCTestCase {
    let image = RGBImage.filled(width: 64, height: 48, with: RGB(100, 150, 200))

    func map(_ values: [Float], rows: Int = 2, columns: Int = 2) throws -> Heatmap {
        try Heatmap(grid: PatchGrid(rows: rows, columns: columns), values: values, method: MapMethod(name: "test"))
    }

    func pixel(_ image: RGBImage, _ x: Int, _ y: Int) -> [UInt8] {
        Array(image.pixels[((y * image.width + x) * 3)..<((y * image.width + x) * 3 + 3)])
    }

    func testTheOverlayKeepsTheOriginalSizeAndBlendsAlphaTimesTheColour() throws {
        let heat = try map([0, 1, 2, 3])
        let overlay = HeatmapOverlay.render(heat, on: image, options: RenderOptions(alpha: 0.25))
        XCTAssertEqual(overlay.width, 64)
        XCTAssertEqual(overlay.height, 48)
        // The bottom-right pixel lies past the last patch centre: value 3 → normalised 1 → jet's last colour.
        let jet = Colormap.jet.color(1)
        let original: [Float] = [100, 150, 200]
        let colour: [Float] = [Float(jet.red), Float(jet.green), Float(jet.blue)]
        let expected: [UInt8] = (0..<3).map { UInt8(original[$0] * 0.75 + colour[$0] * 0.25 + 0.5) }
        XCTAssertEqual(pixel(overlay, 63, 47), expected)
    }

    func testAlphaZeroLeavesTheImageAndAlphaOneShowsTheColormapOfTheUpsampledNormalisedMap() throws {
        let heat = try map([0.1, 0.4, 0.2, 0.3])
        XCTAssertEqual(HeatmapOverlay.render(heat, on: image, options: RenderOptions(alpha: 0)), image)
        let solid = HeatmapOverlay.render(heat, on: image, options: RenderOptions(colormap: .viridis, alpha: 1))
        let field = BilinearUpsampling.upsample(heat.normalized(), rows: 2, columns: 2, width: 64, height: 48)
        for (x, y) in [(30, 20), (5, 40), (63, 0)] {
            let c = Colormap.viridis.color(field[y * 64 + x])
            XCTAssertEqual(pixel(solid, x, y), [c.red, c.green, c.blue])
        }
    }

    func testSmoothingAndSharpeningAreRecordedInTheMethod() throws {
        let prepared = HeatmapOverlay.prepare(
            try map([0.1, 0.4, 0.2, 0.3]),
            options: RenderOptions(smoothingSigma: 1, temperature: 0.5))
        XCTAssertEqual(prepared.method.steps, ["gaussian(sigma=1.0, mode=reflect, truncate=4.0)", "temperature(0.5)"])
    }

    func testAColorbarWidensTheImageAndKeepsTheOverlayOnTheLeft() throws {
        let heat = try map([0, 1, 2, 3])
        let plain = HeatmapOverlay.render(heat, on: image)
        let barred = HeatmapOverlay.render(heat, on: image, options: RenderOptions(colorbar: true))
        XCTAssertGreaterThan(barred.width, 64 + 10)
        XCTAssertEqual(barred.height, 48)
        XCTAssertEqual(pixel(barred, 10, 10), pixel(plain, 10, 10))
        // Top of the bar is the maximum colour, bottom the minimum.
        let top = Colormap.jet.color(1)
        let bottom = Colormap.jet.color(0)
        XCTAssertEqual(pixel(barred, 64 + 4 + 2, 4), [top.red, top.green, top.blue])
        XCTAssertEqual(pixel(barred, 64 + 4 + 2, 48 - 4 - 1), [bottom.red, bottom.green, bottom.blue])
    }

    func testALabelDrawsWhiteGlyphsOnADarkenedBoxAtTheTopLeft() throws {
        let heat = try map([0, 0, 0, 0])
        let labelled = HeatmapOverlay.render(heat, on: image, options: RenderOptions(alpha: 0), label: ["I"])
        // "I" has ink in its top row at columns 1–3 (box padding 2 px).
        XCTAssertEqual(pixel(labelled, 2 + 2, 2), [255, 255, 255])
        XCTAssertEqual(pixel(labelled, 0, 0), [40, 60, 80])
        XCTAssertEqual(pixel(labelled, 40, 40), [100, 150, 200])
    }

    func testTheRenderedPNGDecodesBackToTheSamePixels() throws {
        let overlay = HeatmapOverlay.render(try map([0, 1, 2, 3]), on: image, label: ["layer 1", "yes 0.71"])
        let decoded = try ImageDecoder().decode(try PNGEncoder.encode(overlay))
        XCTAssertEqual(decoded.image, overlay)
    }
}

final class LayerGridTests: XCTestCase {
    func testTwelveMapsInFourColumnsMakeThreeRowsOfScaledCells() throws {
        let image = RGBImage.filled(width: 1024, height: 768, with: RGB(50, 50, 50))
        let maps = try (0..<12).map {
            try Heatmap(
                grid: PatchGrid(rows: 3, columns: 3), values: (0..<9).map { Float($0 * $0) },
                method: MapMethod(name: "cross_attention", parameters: ["layer": String($0)]))
        }
        let grid = LayerGrid.render(maps, on: image, layout: GridLayout(columns: 4, cellMaxSide: 200, gap: 4))
        XCTAssertEqual(grid.width, 4 * 200 + 5 * 4)
        XCTAssertEqual(grid.height, 3 * 150 + 4 * 4)
    }

    func testATitleAddsABandAboveTheCells() throws {
        let image = RGBImage.filled(width: 100, height: 100, with: RGB(50, 50, 50))
        let map = try Heatmap(grid: PatchGrid(rows: 2, columns: 2), values: [1, 2, 3, 4], method: MapMethod(name: "m"))
        let plain = LayerGrid.render([map, map], on: image)
        let titled = LayerGrid.render([map, map], on: image, layout: GridLayout(title: "yes 0.71"))
        XCTAssertEqual(titled.height, plain.height + 8 + 2 * 4)
    }
}

final class LayerAnimationTests: XCTestCase {
    func testAnAnimationHasOneLabelledFramePerMapWithTheRequestedDelayAndLoop() throws {
        let image = RGBImage.filled(width: 120, height: 90, with: RGB(90, 120, 60))
        let maps = try (0..<4).map { layer in
            try Heatmap(
                grid: PatchGrid(rows: 3, columns: 3), values: (0..<9).map { Float(($0 + layer) % 9) },
                method: MapMethod(name: "cross_attention", parameters: ["layer": String(layer)]))
        }
        let bytes = try LayerAnimation.render(
            maps, labels: maps.map { [$0.method.shortLabel, "yes 0.71"] }, on: image,
            animation: AnimationOptions(frameDelayMilliseconds: 250, loop: .count(2), maxSide: 60))
        let gif = try GIFStructure(bytes)
        XCTAssertEqual(gif.frames.count, 4)
        XCTAssertEqual([gif.width, gif.height], [60, 45])
        XCTAssertEqual(gif.frames.map(\.delay), [25, 25, 25, 25])
        XCTAssertEqual(gif.loopCount, 2)
        XCTAssertNotEqual(gif.frames[0].pixels, gif.frames[1].pixels)
    }

    func testASharedScaleUsesOneRangeForAllFrames() throws {
        let image = RGBImage.filled(width: 20, height: 20, with: .black)
        let low = try Heatmap(grid: PatchGrid(rows: 1, columns: 1), values: [1], method: MapMethod(name: "a"))
        let high = try Heatmap(grid: PatchGrid(rows: 1, columns: 1), values: [3], method: MapMethod(name: "b"))
        let frames = LayerAnimation.frames(
            [low, high], labels: [[], []], on: image,
            options: RenderOptions(alpha: 1),
            animation: AnimationOptions(sharedScale: true))
        let first = Colormap.jet.color(0)
        let last = Colormap.jet.color(1)
        XCTAssertEqual(Array(frames[0].pixels[0..<3]), [first.red, first.green, first.blue])
        XCTAssertEqual(Array(frames[1].pixels[0..<3]), [last.red, last.green, last.blue])
    }
}

final class BitmapFontTests: XCTestCase {
    func testEveryPrintableASCIICharacterHasItsOwnGlyph() {
        var seen = Set<[UInt8]>()
        for code in 32...126 {
            let character = Character(UnicodeScalar(UInt8(code)))
            let glyph = BitmapFont.glyphs[character]
            XCTAssertNotNil(glyph, "no glyph for \(character)")
            XCTAssertEqual(glyph?.count, 8)
            XCTAssertTrue(glyph!.allSatisfy { $0 < 32 })
            XCTAssertTrue(seen.insert(glyph!).inserted, "\(character) repeats another glyph")
        }
        XCTAssertEqual(BitmapFont.glyph("é"), BitmapFont.glyphs["?"])
    }

    func testTextSizeIsSixPixelsPerCharacterAndNinePerLineTimesTheScale() {
        XCTAssertEqual(BitmapFont.size(of: "yes 0.71", scale: 1).width, 8 * 6 - 1)
        XCTAssertEqual(BitmapFont.size(of: "a\nb", scale: 2).height, (2 * 9 - 1) * 2)
    }
}

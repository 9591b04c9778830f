import Foundation
import ImageIO
// Files for independent decoders and for the README. Both tests skip unless their environment variable names a
// folder: OFAD_VISUALIZE_OUT (then run Tools/fixtures/check_visualize_outputs.py on it: Pillow must open every
// file with the sizes, frame counts, delays and loop counts in manifest.json) and OFAD_WRITE_EXAMPLES (docs/images).
import OFA
import XCTest

@testable import Visualize

final class WrittenFilesTests: XCTestCase {
    func folder(_ variable: String) throws -> URL {
        guard let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty else {
            throw XCTSkip("set \(variable) to a folder to write these files")
        }
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The photo fixture and the maps of one golden case (tiny-b premise, 6×6 patches, 3 encoder + 2 decoder layers).
    func exampleInputs() throws -> (image: RGBImage, cross: [AttentionProbabilities], encoder: [AttentionProbabilities])
    {
        let bytes = [UInt8](
            try Data(contentsOf: VisualizeFixtures.url("preprocessing/images/jpeg-baseline-640x480.jpg")))
        let image = try ImageDecoder().decode(bytes).image
        let cross = try (0..<2).map {
            try VisualizeFixtures.attention(model: "tiny-b", case: "premise", kind: "cross", layer: $0)
        }
        let encoder = try (0..<3).map {
            try VisualizeFixtures.attention(model: "tiny-b", case: "premise", kind: "encoder", layer: $0)
        }
        return (image, cross, encoder)
    }

    func testWriteFilesForIndependentDecoders() throws {
        let out = try folder("OFAD_VISUALIZE_OUT")
        let (image, cross, _) = try exampleInputs()
        let grid = PatchGrid(rows: 6, columns: 6)
        let maps = try cross.flatMap { layer in
            try [HeadFusion.mean, .max, .head(0)].map {
                try Heatmap.crossAttention(layer, grid: grid, heads: $0, renormalize: true)
            }
        }
        var manifest: [[String: Any]] = []
        func write(_ name: String, _ bytes: [UInt8], _ properties: [String: Any]) throws {
            try Data(bytes).write(to: out.appendingPathComponent(name))
            manifest.append(["file": name].merging(properties) { a, _ in a })
        }
        let overlay = HeatmapOverlay.render(
            maps[0], on: image, options: RenderOptions(colorbar: true),
            label: ["cross L0 mean", "yes 0.71"])
        try write("overlay.png", try PNGEncoder.encode(overlay), ["format": "PNG", "size": [overlay.width, 480]])
        let layerGrid = LayerGrid.render(maps, on: image, layout: GridLayout(columns: 3, cellMaxSide: 160))
        try write(
            "grid.png", try PNGEncoder.encode(layerGrid),
            ["format": "PNG", "size": [3 * 160 + 4 * 4, 2 * 120 + 3 * 4]])
        for (name, loop, delay) in [
            ("forever", GIFLoop.forever, 200), ("count3", .count(3), 70), ("once", .once, 1000),
        ] {
            let gif = try LayerAnimation.render(
                maps, on: image, animation: AnimationOptions(frameDelayMilliseconds: delay, loop: loop, maxSide: 200))
            var properties: [String: Any] = [
                "format": "GIF", "size": [200, 150], "frames": maps.count,
                "duration_ms": delay,
            ]
            switch loop {
            case .forever: properties["loop"] = 0
            case .count(let n): properties["loop"] = n
            case .once: properties["loop"] = NSNull()
            }
            try write("animation-\(name).gif", gif, properties)
        }
        try write(
            "map.npy", maps[0].npy(), ["format": "NPY", "shape": [6, 6], "values": maps[0].values.map(Double.init)])
        let json = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: out.appendingPathComponent("manifest.json"))
    }

    func testWriteTheREADMEExamples() throws {
        let out = try folder("OFAD_WRITE_EXAMPLES")
        let (photo, cross, encoder) = try exampleInputs()
        let image = ImageResampling.resize(photo, width: 320, height: 240)
        let grid = PatchGrid(rows: 6, columns: 6)
        let answer = "yes 0.71 (random weights)"

        let last = try Heatmap.crossAttention(cross[1], grid: grid, renormalize: true)
        let overlay = HeatmapOverlay.render(
            last, on: image, options: RenderOptions(smoothingSigma: 0.7, colorbar: true),
            label: [last.method.shortLabel, answer])
        try Data(try PNGEncoder.encode(overlay)).write(to: out.appendingPathComponent("overlay.png"))

        let rollout = try AttentionRollout(encoder: encoder, fusion: .mean)
        let panels =
            try cross.map { try Heatmap.crossAttention($0, grid: grid, renormalize: true) }
            + [try Heatmap.rollout(rollout, cross: [cross[1]], grid: grid, renormalize: true)]
            + (try [HeadFusion.max, .head(0)].map { try Heatmap.crossAttention(cross[1], grid: grid, heads: $0) })
        let gridImage = LayerGrid.render(
            panels, labels: panels.map { [$0.method.shortLabel] }, on: image,
            options: RenderOptions(colormap: .inferno, alpha: 0.6),
            layout: GridLayout(
                columns: 5, cellMaxSide: 160,
                title: answer))
        try Data(try PNGEncoder.encode(gridImage)).write(to: out.appendingPathComponent("grid.png"))

        let frames = try encoder.map { try Heatmap.textToImage($0, grid: grid, tokens: .mean(Array(1..<10))) } + panels
        let gif = try LayerAnimation.render(
            frames, on: image, options: RenderOptions(smoothingSigma: 0.7),
            animation: AnimationOptions(frameDelayMilliseconds: 700, maxSide: 240))
        try Data(gif).write(to: out.appendingPathComponent("layers.gif"))
    }
}

// Times rendering for a 1024×768 image from twelve 30×30 maps (OFA-large's grid): one overlay, a 12-layer grid
// and a 12-frame animated GIF at full size, each including its PNG/GIF encoding. Prints one line per step with the
// median of --runs runs (default 5); --write DIR also writes the outputs.
import Foundation
import ImageIO
import OFA
import Visualize

var runs = 5
var writeFolder: String?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--runs": runs = Int(arguments.popFirst() ?? "") ?? runs
    case "--write": writeFolder = arguments.popFirst()
    default:
        FileHandle.standardError.write("usage: ofa-render-benchmark [--runs N] [--write DIR]\n".data(using: .utf8)!)
        exit(2)
    }
}

let width = 1024
let height = 768
var pixels = [UInt8](repeating: 0, count: width * height * 3)
for y in 0..<height {
    for x in 0..<width {
        let i = (y * width + x) * 3
        pixels[i] = UInt8((x * 255) / width)
        pixels[i + 1] = UInt8((y * 255) / height)
        pixels[i + 2] = UInt8(((x ^ y) & 0xFF))
    }
}
let image = RGBImage(width: width, height: height, pixels: pixels)
let grid = PatchGrid(rows: 30, columns: 30)
let maps = try (0..<12).map { layer -> Heatmap in
    let cx = 5.0 + 1.7 * Double(layer)
    let cy = 25.0 - 1.5 * Double(layer)
    let values = (0..<900).map { k -> Float in
        let dx = Double(k % 30) - cx
        let dy = Double(k / 30) - cy
        return Float(exp(-(dx * dx + dy * dy) / 30) + 0.05 * Double((k * 7919 + layer) % 13) / 13)
    }
    return try Heatmap(
        grid: grid, values: values,
        method: MapMethod(name: "cross_attention", parameters: ["layer": String(layer), "heads": "mean"]))
}
let labels = maps.map { [$0.method.shortLabel, "yes 0.708"] }
let options = RenderOptions(smoothingSigma: 1)

func median(_ name: String, _ body: () throws -> [UInt8]) rethrows -> [UInt8] {
    var times: [Double] = []
    var output: [UInt8] = []
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        output = try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    times.sort()
    print(
        String(
            format: "%-44@ median %8.1f ms  (min %.1f, %d runs, %d bytes)", name as NSString, times[times.count / 2],
            times[0], runs, output.count))
    return output
}

_ = median("overlay 1024x768, render only") {
    HeatmapOverlay.render(maps[11], on: image, options: options, label: labels[11]).pixels
}
_ = median("grid 12 layers, render only") {
    LayerGrid.render(maps, labels: labels, on: image, options: options, layout: GridLayout(columns: 4)).pixels
}
let overlay = try median("overlay 1024x768 + PNG") {
    try PNGEncoder.encode(HeatmapOverlay.render(maps[11], on: image, options: options, label: labels[11]))
}
let gridPNG = try median("grid 12 layers (4x3, 320x240 cells) + PNG") {
    try PNGEncoder.encode(
        LayerGrid.render(
            maps, labels: labels, on: image, options: options,
            layout: GridLayout(columns: 4)))
}
let gif = try median("GIF 12 frames 1024x768") {
    try LayerAnimation.render(
        maps, labels: labels, on: image, options: options,
        animation: AnimationOptions(frameDelayMilliseconds: 400))
}
// Rollout at OFA-large's size: 12 encoder layers × 16 heads × S = 914 (one random layer's array shared 12 times).
let size = 914
let heads = 16
var attention = [Float](repeating: 0, count: heads * size * size)
for row in 0..<(heads * size) {
    var total: Float = 0
    for k in 0..<size {
        let v = Float((row &* 2_654_435_761 &+ k &* 40503) & 0xFFFF) / 65536 + 1e-3
        attention[row * size + k] = v
        total += v
    }
    for k in 0..<size { attention[row * size + k] /= total }
}
let encoder = try (0..<12).map {
    try AttentionProbabilities(kind: .encoder, layer: $0, shape: [heads, size, size], values: attention)
}
let crossRow = try AttentionProbabilities(
    kind: .cross, layer: 11, shape: [heads, 1, size], values: Array(attention[0..<(heads * size)]))
_ = try median("rollout 12 layers x 16 heads, S=914 + map") {
    let rollout = try AttentionRollout(encoder: encoder, fusion: .mean, discardRatio: 0.9)
    return try Heatmap.rollout(rollout, cross: [crossRow], grid: grid).npy()
}

if let writeFolder {
    for (name, bytes) in [("overlay.png", overlay), ("grid.png", gridPNG), ("layers.gif", gif)] {
        try Data(bytes).write(to: URL(fileURLWithPath: writeFolder).appendingPathComponent(name))
    }
}

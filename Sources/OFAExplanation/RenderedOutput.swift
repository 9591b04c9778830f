// The maps of a render request as file bytes: one overlay (PNG), a layer grid (PNG), an animated GIF, or the raw
// maps as .npy ([layers, rows, cols] float32). Each image is labelled with its method and the answer.
import Foundation
import ImageIO
import OFAWire
import Visualize

public struct RenderedOutput: Sendable {
    /// "png", "gif" or "npy".
    public let format: String
    public let bytes: [UInt8]
    /// Pixels, or for npy the grid's columns and rows.
    public let width: Int
    public let height: Int
    /// GIF frames, or npy layers.
    public let frames: Int?

    /// `image` is the upright original; it is scaled down to the plan's max_side before drawing.
    init(_ maps: ExplanationMaps, plan: RenderPlan, image: RGBImage?, prediction: Prediction) throws {
        let answer = "\(prediction.answer) \(String(format: "%.3f", prediction.probabilities[prediction.answer] ?? 0))"
        let settings = plan.settings
        if settings.output == .npy {
            let grid = maps.grid
            let array = NPYArray(
                shape: [maps.maps.count, grid.rows, grid.columns], values: maps.maps.flatMap(\.values))
            self.init(
                format: "npy", bytes: NPYFile.encode(array), width: grid.columns, height: grid.rows,
                frames: maps.maps.count)
            return
        }
        guard let image else { throw ExplanationError.notRecorded("the image to draw on") }
        let size = ImageResampling.fitting(width: image.width, height: image.height, maxSide: settings.maxSide)
        let count = settings.output == .overlay ? 1 : maps.maps.count
        let pixels = size.width * size.height * count
        guard pixels <= RenderSettings.maximumOutputPixels else {
            throw ParameterError(
                "max_side",
                "gives an output of \(pixels) pixels (\(count) × \(size.width)×\(size.height)), over the limit of "
                    + "\(RenderSettings.maximumOutputPixels): lower it or draw fewer layers")
        }
        let labels = maps.maps.map { [$0.method.shortLabel, answer] }
        switch settings.output {
        case .overlay:
            let base = ImageResampling.resize(image, width: size.width, height: size.height)
            let map = maps.maps.count == 1 ? maps.maps[0] : try Heatmap.mean(maps.maps)
            let drawn = HeatmapOverlay.render(
                map, on: base, options: Self.unprepared(plan.options), label: [maps.combinedMethod.shortLabel, answer])
            self.init(
                format: "png", bytes: try PNGEncoder.encode(drawn), width: drawn.width, height: drawn.height,
                frames: nil)
        case .grid:
            let layout = GridLayout(
                columns: settings.columns, cellMaxSide: settings.maxSide, sharedScale: settings.sharedScale,
                title: "\(plan.hypothesis) -> \(answer)")
            let drawn = LayerGrid.render(
                maps.maps, labels: maps.maps.map { [$0.method.shortLabel] }, on: image,
                options: Self.unprepared(plan.options), layout: layout)
            self.init(
                format: "png", bytes: try PNGEncoder.encode(drawn), width: drawn.width, height: drawn.height,
                frames: nil)
        case .animation:
            let animation = AnimationOptions(
                frameDelayMilliseconds: settings.frameDelayMilliseconds,
                loop: settings.loop == 0 ? .forever : .count(settings.loop), maxSide: settings.maxSide,
                sharedScale: settings.sharedScale)
            let bytes = try LayerAnimation.render(
                maps.maps, labels: labels, on: image, options: Self.unprepared(plan.options), animation: animation)
            // The logical screen (bytes 6…9, little-endian) includes a colorbar when there is one.
            self.init(
                format: "gif", bytes: bytes, width: Int(bytes[6]) | Int(bytes[7]) << 8,
                height: Int(bytes[8]) | Int(bytes[9]) << 8, frames: maps.maps.count)
        case .npy:
            fatalError("handled above")
        }
    }

    private init(format: String, bytes: [UInt8], width: Int, height: Int, frames: Int?) {
        self.format = format
        self.bytes = bytes
        self.width = width
        self.height = height
        self.frames = frames
    }

    /// The maps were smoothed and sharpened once (for statistics too); drawing must not do it again.
    private static func unprepared(_ options: RenderOptions) -> RenderOptions {
        var options = options
        options.smoothingSigma = 0
        options.temperature = 1
        return options
    }
}

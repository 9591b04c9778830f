// One map drawn over the original image at its original size: prepare (smooth, sharpen), upsample bilinearly to
// W×H, normalise, colour, alpha-blend, then labels and the optional colorbar.
import ImageIO

public enum HeatmapOverlay {
    /// The map as it will be drawn: smoothed and sharpened as the options ask, with those steps in its method.
    public static func prepare(_ map: Heatmap, options: RenderOptions) -> Heatmap {
        map.smoothed(sigma: options.smoothingSigma).sharpened(temperature: options.temperature)
    }

    /// `label` lines (e.g. "cross L11 mean", "yes 0.708") are drawn at the top left.
    public static func render(
        _ map: Heatmap, on image: RGBImage, options: RenderOptions = RenderOptions(),
        label: [String] = []
    ) -> RGBImage {
        draw(prepare(map, options: options), on: image, options: options, label: label)
    }

    /// Draws an already prepared map.
    static func draw(_ map: Heatmap, on image: RGBImage, options: RenderOptions, label: [String]) -> RGBImage {
        let width = image.width
        let height = image.height
        let (lower, upper) = map.bounds(options.normalization)
        let range = upper - lower
        let field = BilinearUpsampling.upsample(
            map.values, rows: map.grid.rows, columns: map.grid.columns,
            width: width, height: height)
        let alpha = options.alpha
        let keep = 1 - options.alpha
        let colors = options.colormap.table.map { Float($0) * alpha + 0.5 }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        image.pixels.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { out in
                colors.withUnsafeBufferPointer { lut in
                    for i in 0..<(width * height) {
                        let position = range > 0 ? (field[i] - lower) / range : 0
                        let c = Colormap.index(position) * 3
                        let o = i * 3
                        out[o] = UInt8(Float(source[o]) * keep + lut[c])
                        out[o + 1] = UInt8(Float(source[o + 1]) * keep + lut[c + 1])
                        out[o + 2] = UInt8(Float(source[o + 2]) * keep + lut[c + 2])
                    }
                }
            }
        }
        var result = RGBImage(width: width, height: height, pixels: pixels)
        let scale = options.scale(width: width, height: height)
        LabelDrawing.draw(label, into: &result, scale: scale)
        if options.colorbar {
            result = Colorbar.append(to: result, colormap: options.colormap, lower: lower, upper: upper, scale: scale)
        }
        return result
    }

    /// One normalisation over several prepared maps (min of all minima to max of all maxima).
    static func shared(_ maps: [Heatmap], _ normalization: Normalization) -> Normalization {
        guard case .minMax = normalization else { return normalization }
        let lower = maps.compactMap { $0.values.min() }.min() ?? 0
        let upper = maps.compactMap { $0.values.max() }.max() ?? 0
        return .fixed(lower: lower, upper: upper)
    }
}

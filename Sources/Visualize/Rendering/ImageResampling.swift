// Area-average (box filter) resizing of RGB images, for grid cells and animation frames smaller than the photo.
import ImageIO

enum ImageResampling {
    static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        if width == image.width && height == image.height { return image }
        let xs = weights(source: image.width, target: width)
        let ys = weights(source: image.height, target: height)
        var rows = [Float](repeating: 0, count: image.height * width * 3)
        image.pixels.withUnsafeBufferPointer { p in
            for y in 0..<image.height {
                for x in 0..<width {
                    var r: Float = 0
                    var g: Float = 0
                    var b: Float = 0
                    for (k, w) in xs[x] {
                        let i = (y * image.width + k) * 3
                        r += w * Float(p[i])
                        g += w * Float(p[i + 1])
                        b += w * Float(p[i + 2])
                    }
                    let o = (y * width + x) * 3
                    rows[o] = r
                    rows[o + 1] = g
                    rows[o + 2] = b
                }
            }
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    var total: Float = 0
                    for (k, w) in ys[y] { total += w * rows[(k * width + x) * 3 + c] }
                    pixels[(y * width + x) * 3 + c] = UInt8(Swift.min(Swift.max(total + 0.5, 0), 255))
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Output i covers source [i·s, (i+1)·s), s = source/target; each source pixel weighs its overlap.
    static func weights(source: Int, target: Int) -> [[(Int, Float)]] {
        let scale = Double(source) / Double(target)
        return (0..<target).map { i in
            let start = Double(i) * scale
            let end = Double(i + 1) * scale
            var taps: [(Int, Float)] = []
            var k = Int(start)
            while Double(k) < end && k < source {
                let overlap = Swift.min(end, Double(k + 1)) - Swift.max(start, Double(k))
                if overlap > 0 { taps.append((k, Float(overlap / scale))) }
                k += 1
            }
            return taps
        }
    }

    /// The size that fits within `maxSide` on the longer side, keeping the aspect ratio (never enlarging).
    static func fitting(width: Int, height: Int, maxSide: Int?) -> (width: Int, height: Int) {
        guard let maxSide, Swift.max(width, height) > maxSide else { return (width, height) }
        let scale = Double(maxSide) / Double(Swift.max(width, height))
        return (
            Swift.max(1, Int((Double(width) * scale).rounded())), Swift.max(1, Int((Double(height) * scale).rounded()))
        )
    }
}

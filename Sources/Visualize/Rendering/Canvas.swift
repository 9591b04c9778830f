// Drawing primitives on an RGBImage: solid and translucent rectangles and pasting one image into another.
import ImageIO

/// An RGB colour.
public struct RGB: Sendable, Equatable, Hashable {
    public let red: UInt8
    public let green: UInt8
    public let blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let black = RGB(0, 0, 0)
    public static let white = RGB(255, 255, 255)
    public static let darkGray = RGB(32, 32, 32)
}

extension RGBImage {
    /// A width × height image of one colour.
    public static func filled(width: Int, height: Int, with color: RGB) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[i * 3] = color.red
            pixels[i * 3 + 1] = color.green
            pixels[i * 3 + 2] = color.blue
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Blends `color` over the rectangle (clipped to the image) with the given opacity (1: solid).
    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: RGB, opacity: Float = 1) {
        let x0 = Swift.max(x, 0)
        let y0 = Swift.max(y, 0)
        let x1 = Swift.min(x + w, width)
        let y1 = Swift.min(y + h, height)
        guard x0 < x1 && y0 < y1 else { return }
        let keep = 1 - opacity
        let add = [Float(color.red), Float(color.green), Float(color.blue)].map { $0 * opacity }
        let imageWidth = width
        pixels.withUnsafeMutableBufferPointer { p in
            for row in y0..<y1 {
                for column in x0..<x1 {
                    let i = (row * imageWidth + column) * 3
                    for c in 0..<3 { p[i + c] = UInt8(Float(p[i + c]) * keep + add[c] + 0.5) }
                }
            }
        }
    }

    /// Copies `image` with its top-left corner at (x, y), clipped to this image.
    mutating func paste(_ image: RGBImage, x: Int, y: Int) {
        let x0 = Swift.max(x, 0)
        let x1 = Swift.min(x + image.width, width)
        let y0 = Swift.max(y, 0)
        let y1 = Swift.min(y + image.height, height)
        guard x0 < x1 && y0 < y1 else { return }
        let imageWidth = width
        pixels.withUnsafeMutableBufferPointer { target in
            image.pixels.withUnsafeBufferPointer { source in
                for row in y0..<y1 {
                    let from = ((row - y) * image.width + (x0 - x)) * 3
                    let to = (row * imageWidth + x0) * 3
                    for k in 0..<((x1 - x0) * 3) { target[to + k] = source[from + k] }
                }
            }
        }
    }
}

// A vertical colorbar appended to the right of an image: the colormap from the upper bound (top) to the lower
// bound (bottom), labelled with both values.
import Foundation
import ImageIO

enum Colorbar {
    static func append(to image: RGBImage, colormap: Colormap, lower: Float, upper: Float, scale: Int) -> RGBImage {
        let pad = 4 * scale
        let barWidth = 6 * scale
        let labels = [format(upper), format(lower)]
        let labelWidth = labels.map { BitmapFont.size(of: $0, scale: scale).width }.max() ?? 0
        let textHeight = BitmapFont.size(of: "0", scale: scale).height
        let width = image.width + pad + barWidth + pad + labelWidth + pad
        var canvas = RGBImage.filled(width: width, height: image.height, with: .darkGray)
        canvas.paste(image, x: 0, y: 0)
        let top = pad
        let bottom = Swift.max(image.height - pad, top + 1)
        let barX = image.width + pad
        for y in top..<bottom {
            let position = bottom - 1 == top ? 1 : Float(bottom - 1 - y) / Float(bottom - 1 - top)
            let color = colormap.color(position)
            canvas.fill(x: barX, y: y, width: barWidth, height: 1, color: RGB(color.red, color.green, color.blue))
        }
        let textX = barX + barWidth + pad
        BitmapFont.draw(labels[0], into: &canvas, x: textX, y: top, scale: scale, color: .white)
        BitmapFont.draw(
            labels[1], into: &canvas, x: textX, y: Swift.max(bottom - textHeight, top), scale: scale,
            color: .white)
        return canvas
    }

    /// Three significant digits, as "%.3g" prints them.
    static func format(_ value: Float) -> String { String(format: "%.3g", Double(value)) }
}

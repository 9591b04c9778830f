// Text labels on rendered images: white bitmap-font lines on a translucent black box.
import ImageIO

enum LabelDrawing {
    /// Draws `lines` in a box whose top-left corner is at (x, y).
    static func draw(_ lines: [String], into image: inout RGBImage, x: Int = 0, y: Int = 0, scale: Int) {
        let text = lines.joined(separator: "\n")
        guard !text.isEmpty else { return }
        let size = BitmapFont.size(of: text, scale: scale)
        let pad = 2 * scale
        image.fill(x: x, y: y, width: size.width + 2 * pad, height: size.height + 2 * pad, color: .black, opacity: 0.6)
        BitmapFont.draw(text, into: &image, x: x + pad, y: y + pad, scale: scale, color: .white)
    }
}

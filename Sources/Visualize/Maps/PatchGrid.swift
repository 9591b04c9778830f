// Where each patch of the engine's PatchGrid lies in the original image.
//
// Convention: the model saw the original W×H image resized to a square N×N without keeping the aspect ratio, and
// its rows×cols patch grid tiles that square evenly. Mapped back, patch (r, c) covers the original-image box
// [c·W/cols, r·H/rows, (c+1)·W/cols, (r+1)·H/rows] (x0, y0, x1, y1; pixel edges, origin at the top-left corner,
// x1/y1 exclusive). Boxes are fractional when cols ∤ W or rows ∤ H. Every patch covers the same share of the image.

import OFA

extension PatchGrid {
    /// The original-image box that patch (row, column) covers.
    public func box(row: Int, column: Int, imageWidth: Int, imageHeight: Int) -> PixelBox {
        let w = Double(imageWidth)
        let h = Double(imageHeight)
        return PixelBox(
            x0: Double(column) * w / Double(columns), y0: Double(row) * h / Double(rows),
            x1: Double(column + 1) * w / Double(columns), y1: Double(row + 1) * h / Double(rows))
    }

    /// The centre of patch (row, column) in original-image pixels.
    public func center(row: Int, column: Int, imageWidth: Int, imageHeight: Int) -> (x: Double, y: Double) {
        (
            (Double(column) + 0.5) * Double(imageWidth) / Double(columns),
            (Double(row) + 0.5) * Double(imageHeight) / Double(rows)
        )
    }
}

/// A box in original-image pixel coordinates: x0, y0 inclusive, x1, y1 exclusive edges.
public struct PixelBox: Sendable, Equatable, Codable {
    public let x0: Double
    public let y0: Double
    public let x1: Double
    public let y1: Double

    public init(x0: Double, y0: Double, x1: Double, y1: Double) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
    }
}

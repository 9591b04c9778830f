// Several maps (e.g. selected layers) side by side in one PNG-ready image, each over a scaled copy of the photo.
import ImageIO

public struct GridLayout: Sendable, Equatable {
    /// Cells per row; nil: ⌈√count⌉.
    public var columns: Int?
    /// Each cell is the image scaled (never enlarged) so its longer side is at most this.
    public var cellMaxSide: Int
    public var gap: Int
    /// One colour scale for all cells (global min/max) instead of one per map.
    public var sharedScale: Bool
    /// A line above the grid (e.g. the hypothesis and the answer with its probability).
    public var title: String?

    public init(
        columns: Int? = nil, cellMaxSide: Int = 320, gap: Int = 4, sharedScale: Bool = false,
        title: String? = nil
    ) {
        self.columns = columns
        self.cellMaxSide = cellMaxSide
        self.gap = gap
        self.sharedScale = sharedScale
        self.title = title
    }
}

public enum LayerGrid {
    /// `labels[i]` are drawn on cell i (missing entries: the map's short method label).
    public static func render(
        _ maps: [Heatmap], labels: [[String]] = [], on image: RGBImage,
        options: RenderOptions = RenderOptions(), layout: GridLayout = GridLayout()
    ) -> RGBImage {
        guard !maps.isEmpty else { return image }
        let size = ImageResampling.fitting(width: image.width, height: image.height, maxSide: layout.cellMaxSide)
        let base = ImageResampling.resize(image, width: size.width, height: size.height)
        let prepared = maps.map { HeatmapOverlay.prepare($0, options: options) }
        var cellOptions = options
        if layout.sharedScale { cellOptions.normalization = HeatmapOverlay.shared(prepared, options.normalization) }
        let cells = prepared.enumerated().map { i, map in
            HeatmapOverlay.draw(
                map, on: base, options: cellOptions,
                label: i < labels.count ? labels[i] : [maps[i].method.shortLabel])
        }
        let columns = Swift.max(
            1,
            Swift.min(
                layout.columns ?? Int(Double(maps.count).squareRoot().rounded(.up)),
                maps.count))
        let rows = (maps.count + columns - 1) / columns
        let cellWidth = cells[0].width
        let cellHeight = cells[0].height
        let gap = layout.gap
        let scale = options.scale(width: size.width, height: size.height)
        let titleHeight = layout.title.map { BitmapFont.size(of: $0, scale: scale).height + 2 * gap } ?? 0
        var canvas = RGBImage.filled(
            width: columns * cellWidth + (columns + 1) * gap,
            height: titleHeight + rows * cellHeight + (rows + 1) * gap, with: .darkGray)
        if let title = layout.title {
            BitmapFont.draw(title, into: &canvas, x: gap, y: gap, scale: scale, color: .white)
        }
        for (i, cell) in cells.enumerated() {
            canvas.paste(
                cell, x: gap + (i % columns) * (cellWidth + gap),
                y: titleHeight + gap + (i / columns) * (cellHeight + gap))
        }
        return canvas
    }
}

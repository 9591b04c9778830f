// Maps (e.g. every layer) as the frames of an animated GIF, each frame labelled.
import ImageIO

public struct AnimationOptions: Sendable, Equatable {
    /// Time each frame is shown; GIF stores centiseconds, so this is rounded to the nearest 10 ms (at least 10).
    public var frameDelayMilliseconds: Int
    public var loop: GIFLoop
    /// Frames are the image scaled (never enlarged) so its longer side is at most this; nil: the original size.
    public var maxSide: Int?
    /// One colour scale for all frames (global min/max) instead of one per map.
    public var sharedScale: Bool

    public init(
        frameDelayMilliseconds: Int = 500, loop: GIFLoop = .forever, maxSide: Int? = nil,
        sharedScale: Bool = false
    ) {
        self.frameDelayMilliseconds = frameDelayMilliseconds
        self.loop = loop
        self.maxSide = maxSide
        self.sharedScale = sharedScale
    }

    /// The GIF delay in centiseconds.
    public var delayCentiseconds: Int { Swift.max(1, (frameDelayMilliseconds + 5) / 10) }
}

public enum LayerAnimation {
    /// The frames as RGB images (`labels[i]` on frame i; missing entries: the map's short method label).
    public static func frames(
        _ maps: [Heatmap], labels: [[String]] = [], on image: RGBImage,
        options: RenderOptions = RenderOptions(), animation: AnimationOptions = AnimationOptions()
    )
        -> [RGBImage]
    {
        let size = ImageResampling.fitting(width: image.width, height: image.height, maxSide: animation.maxSide)
        let base = ImageResampling.resize(image, width: size.width, height: size.height)
        let prepared = maps.map { HeatmapOverlay.prepare($0, options: options) }
        var frameOptions = options
        if animation.sharedScale { frameOptions.normalization = HeatmapOverlay.shared(prepared, options.normalization) }
        return prepared.enumerated().map { i, map in
            HeatmapOverlay.draw(
                map, on: base, options: frameOptions,
                label: i < labels.count ? labels[i] : [maps[i].method.shortLabel])
        }
    }

    /// An animated GIF (one global 256-colour palette, no dithering).
    public static func render(
        _ maps: [Heatmap], labels: [[String]] = [], on image: RGBImage,
        options: RenderOptions = RenderOptions(), animation: AnimationOptions = AnimationOptions()
    )
        throws -> [UInt8]
    {
        guard !maps.isEmpty else { throw GIFError.noFrames }
        let frames = frames(maps, labels: labels, on: image, options: options, animation: animation)
        return try GIFEncoder.encode(frames, delayCentiseconds: animation.delayCentiseconds, loop: animation.loop)
    }
}

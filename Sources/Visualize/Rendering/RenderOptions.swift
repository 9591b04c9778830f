// How a map is drawn over an image: colormap, opacity, smoothing, sharpening, normalisation, colorbar, text size.

public struct RenderOptions: Sendable, Equatable {
    /// matplotlib-equivalent colormap; jet by default, as attention tutorials use.
    public var colormap: Colormap
    /// Heatmap opacity: pixel = (1 − alpha)·image + alpha·colour.
    public var alpha: Float
    /// Gaussian sigma in patch units (0: none); see GaussianSmoothing.
    public var smoothingSigma: Double
    /// Temperature (1: none; < 1 sharpens); see Heatmap.sharpened(temperature:).
    public var temperature: Double
    public var normalization: Normalization
    /// Appends a vertical colorbar with the value range on the right.
    public var colorbar: Bool
    /// Integer text scale (8-pixel-high glyphs times this); nil: from the image size.
    public var textScale: Int?

    public init(
        colormap: Colormap = .jet, alpha: Float = 0.5, smoothingSigma: Double = 0, temperature: Double = 1,
        normalization: Normalization = .minMax, colorbar: Bool = false, textScale: Int? = nil
    ) {
        self.colormap = colormap
        self.alpha = alpha
        self.smoothingSigma = smoothingSigma
        self.temperature = temperature
        self.normalization = normalization
        self.colorbar = colorbar
        self.textScale = textScale
    }

    /// The text scale for an image of this size: 1 up to 399 px on the shorter side, then one more per 200 px.
    func scale(width: Int, height: Int) -> Int { textScale ?? Swift.max(1, Swift.min(width, height) / 200) }
}

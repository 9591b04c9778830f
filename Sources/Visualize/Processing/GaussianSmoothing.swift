// Gaussian smoothing of a patch map, sigma in patch units; matches scipy.ndimage.gaussian_filter(x, sigma,
// mode='reflect', truncate=4.0) on float64 input: a separable, normalised kernel of radius ⌊4·sigma + 0.5⌋, rows
// axis first, edges extended by half-sample reflection (d c b a | a b c d | d c b a).
import Foundation

public enum GaussianSmoothing {
    public static let truncate = 4.0

    public static func smooth(_ values: [Float], rows: Int, columns: Int, sigma: Double) -> [Float] {
        precondition(values.count == rows * columns, "map size mismatch")
        guard sigma > 0 else { return values }
        let kernel = kernel(sigma: sigma)
        let radius = kernel.count / 2
        var input = values.map(Double.init)
        var output = [Double](repeating: 0, count: values.count)
        // Axis 0 (down the rows).
        for r in 0..<rows {
            for c in 0..<columns {
                var total = 0.0
                for k in -radius...radius {
                    total += kernel[k + radius] * input[reflect(r + k, count: rows) * columns + c]
                }
                output[r * columns + c] = total
            }
        }
        swap(&input, &output)
        // Axis 1 (along each row).
        for r in 0..<rows {
            for c in 0..<columns {
                var total = 0.0
                for k in -radius...radius {
                    total += kernel[k + radius] * input[r * columns + reflect(c + k, count: columns)]
                }
                output[r * columns + c] = total
            }
        }
        return output.map(Float.init)
    }

    /// exp(−x²/2σ²) for x = −radius…radius, normalised to sum 1 (scipy's _gaussian_kernel1d, order 0).
    static func kernel(sigma: Double) -> [Double] {
        let radius = Int(truncate * sigma + 0.5)
        let weights = (-radius...radius).map { x in exp(-0.5 / (sigma * sigma) * Double(x * x)) }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }

    /// scipy's 'reflect' extension for any index, however far outside 0..<count.
    static func reflect(_ index: Int, count: Int) -> Int {
        if count == 1 { return 0 }
        let period = 2 * count
        var m = index % period
        if m < 0 { m += period }
        return m < count ? m : period - 1 - m
    }
}

extension Heatmap {
    /// This map smoothed with a Gaussian of `sigma` patches (see `GaussianSmoothing`).
    public func smoothed(sigma: Double) -> Heatmap {
        guard sigma > 0 else { return self }
        var copy = self
        copy.values = GaussianSmoothing.smooth(values, rows: grid.rows, columns: grid.columns, sigma: sigma)
        copy.method = method.adding(step: "gaussian(sigma=\(sigma), mode=reflect, truncate=4.0)")
        return copy
    }
}

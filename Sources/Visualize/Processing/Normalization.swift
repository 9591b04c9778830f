// Scaling a map to [0, 1] for display, as attention tutorials do: (v − min) / (max − min).

/// How map values become colormap positions in [0, 1].
public enum Normalization: Sendable, Equatable, Codable {
    /// Each map's own minimum → 0 and maximum → 1 (a constant map becomes all 0).
    case minMax
    /// Fixed bounds (e.g. one scale shared by every layer of a grid); values outside are clipped.
    case fixed(lower: Float, upper: Float)
}

extension Heatmap {
    /// The value range this normalisation maps onto [0, 1].
    public func bounds(_ normalization: Normalization) -> (lower: Float, upper: Float) {
        switch normalization {
        case .minMax: return (values.min() ?? 0, values.max() ?? 0)
        case .fixed(let lower, let upper): return (lower, upper)
        }
    }

    /// Values scaled into [0, 1] (clipped); a zero-width range gives 0.
    public func normalized(_ normalization: Normalization = .minMax) -> [Float] {
        let (lower, upper) = bounds(normalization)
        let range = upper - lower
        guard range > 0 else { return [Float](repeating: 0, count: values.count) }
        return values.map { Swift.min(Swift.max(($0 - lower) / range, 0), 1) }
    }
}

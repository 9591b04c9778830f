// Temperature sharpening: v ↦ v^(1/T), rescaled so the map keeps its total. T < 1 sharpens, T > 1 flattens,
// T = 1 changes nothing. Negative values are treated as 0.
import Foundation

extension Heatmap {
    public func sharpened(temperature: Double) -> Heatmap {
        precondition(temperature > 0, "temperature must be positive")
        guard temperature != 1 else { return self }
        let original = values.reduce(0.0) { $0 + Double(Swift.max($1, 0)) }
        let powered = values.map { pow(Double(Swift.max($0, 0)), 1 / temperature) }
        let total = powered.reduce(0, +)
        var copy = self
        copy.values = powered.map { Float(total > 0 ? $0 * original / total : 0) }
        copy.method = method.adding(step: "temperature(\(temperature))")
        return copy
    }
}

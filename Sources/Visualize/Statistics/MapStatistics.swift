// Summary statistics of one patch map, with positions in original-image pixels (PatchGrid's box convention).
//
// All are computed on the patch grid (every patch covers the same share of the image), in double precision:
// mean, max, min, population std; entropy (nats) of p = v / Σv with 0·ln 0 = 0, and the same divided by
// ln(patch count); focus area = share of patches whose min-max normalised value is ≥ the threshold; centre of
// mass = Σ v·(patch centre) / Σv; top-k = the k largest values, ties broken by lower patch index.
// Negative values count as 0 for entropy and centre of mass (attention is non-negative).
import Foundation
import OFA

public struct MapStatistics: Sendable, Equatable, Codable {
    public struct Point: Sendable, Equatable, Codable {
        public let x: Double
        public let y: Double
    }

    public struct Patch: Sendable, Equatable, Codable {
        public let row: Int
        public let column: Int
        /// r·columns + c, the encoder position.
        public let index: Int
        public let value: Double
        public let box: PixelBox
    }

    public let method: MapMethod
    public let grid: PatchGrid
    public let imageWidth: Int
    public let imageHeight: Int
    public let mean: Double
    public let max: Double
    public let min: Double
    public let std: Double
    public let entropy: Double
    public let normalizedEntropy: Double
    public let focusThreshold: Double
    public let focusArea: Double
    public let centerOfMass: Point
    public let topPatches: [Patch]
}

extension Heatmap {
    public func statistics(imageWidth: Int, imageHeight: Int, focusThreshold: Double = 0.5, topK: Int = 5)
        -> MapStatistics
    {
        let v = values.map(Double.init)
        let n = Double(v.count)
        let mean = v.reduce(0, +) / n
        let maximum = v.max()!
        let minimum = v.min()!
        let std = (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()

        let mass = v.map { Swift.max($0, 0) }
        let total = mass.reduce(0, +)
        var entropy = 0.0
        if total > 0 {
            for m in mass where m > 0 {
                let p = m / total
                entropy -= p * log(p)
            }
        }
        let normalizedEntropy = v.count > 1 ? entropy / log(n) : 0

        let range = maximum - minimum
        let focused = range > 0 ? v.filter { ($0 - minimum) / range >= focusThreshold }.count : 0
        let focusArea = Double(focused) / n

        var cx = 0.0
        var cy = 0.0
        if total > 0 {
            for (k, m) in mass.enumerated() where m > 0 {
                let c = grid.center(
                    row: k / grid.columns, column: k % grid.columns, imageWidth: imageWidth,
                    imageHeight: imageHeight)
                cx += m * c.x
                cy += m * c.y
            }
            cx /= total
            cy /= total
        } else {
            cx = Double(imageWidth) / 2
            cy = Double(imageHeight) / 2
        }

        let order = v.indices.sorted { v[$0] > v[$1] || (v[$0] == v[$1] && $0 < $1) }
        let top = order.prefix(Swift.max(topK, 0)).map { k in
            MapStatistics.Patch(
                row: k / grid.columns, column: k % grid.columns, index: k, value: v[k],
                box: grid.box(
                    row: k / grid.columns, column: k % grid.columns, imageWidth: imageWidth,
                    imageHeight: imageHeight))
        }
        return MapStatistics(
            method: method, grid: grid, imageWidth: imageWidth, imageHeight: imageHeight, mean: mean, max: maximum,
            min: minimum, std: std, entropy: entropy, normalizedEntropy: normalizedEntropy,
            focusThreshold: focusThreshold, focusArea: focusArea, centerOfMass: .init(x: cx, y: cy),
            topPatches: Array(top))
    }
}

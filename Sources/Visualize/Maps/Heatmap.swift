// A map over the image-patch grid plus the method that produced it.
import OFA

public struct Heatmap: Sendable, Equatable {
    public let grid: PatchGrid
    /// `grid.rows × grid.columns` values, row-major.
    public var values: [Float]
    public var method: MapMethod

    public init(grid: PatchGrid, values: [Float], method: MapMethod) throws {
        guard values.count == grid.count else { throw MapError.valueCount(expected: grid.count, actual: values.count) }
        self.grid = grid
        self.values = values
        self.method = method
    }

    init(grid: PatchGrid, doubles: [Double], method: MapMethod) {
        self.grid = grid
        self.values = doubles.map(Float.init)
        self.method = method
    }

    public subscript(row: Int, column: Int) -> Float { values[row * grid.columns + column] }

    /// The element-wise mean of maps on one grid (e.g. over layers).
    public static func mean(_ maps: [Heatmap], name: String = "layer_mean") throws -> Heatmap {
        guard let first = maps.first else { throw MapError.noLayers }
        var sum = [Double](repeating: 0, count: first.grid.count)
        for map in maps {
            guard map.grid == first.grid else { throw MapError.gridMismatch(first.grid, map.grid) }
            for i in sum.indices { sum[i] += Double(map.values[i]) }
        }
        let method = MapMethod(name: name, parameters: ["of": maps.map(\.method.description).joined(separator: "; ")])
        return Heatmap(grid: first.grid, doubles: sum.map { $0 / Double(maps.count) }, method: method)
    }
}

/// The patch block of a source-length vector, optionally rescaled to sum to 1 over the block.
func patchSlice(_ row: [Double], grid: PatchGrid, renormalize: Bool) -> [Double] {
    let slice = Array(row[0..<grid.count])
    guard renormalize else { return slice }
    let total = slice.reduce(0, +)
    return total > 0 ? slice.map { $0 / total } : slice
}

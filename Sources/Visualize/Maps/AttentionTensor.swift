// One layer's attention probabilities as a plain array with its shape, free of the engine's types.

/// `[heads, queries, keys]` probabilities, row-major (the engine's `AttentionMap.values` and `.shape`).
public struct AttentionTensor: Sendable, Equatable {
    public let heads: Int
    public let queries: Int
    public let keys: Int
    public let values: [Float]
    /// The layer these probabilities came from (for labels and method descriptions).
    public let layer: Int

    public init(shape: [Int], values: [Float], layer: Int) throws {
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }) else { throw MapError.badShape(shape) }
        guard values.count == shape[0] * shape[1] * shape[2] else {
            throw MapError.valueCount(expected: shape[0] * shape[1] * shape[2], actual: values.count)
        }
        heads = shape[0]
        queries = shape[1]
        keys = shape[2]
        self.values = values
        self.layer = layer
    }

    public var shape: [Int] { [heads, queries, keys] }

    /// Resolves a query row, negative counting from the end (−1: the last row).
    func queryIndex(_ row: Int) throws -> Int {
        let index = row < 0 ? queries + row : row
        guard index >= 0 && index < queries else { throw MapError.rowOutOfRange(row, queries: queries) }
        return index
    }

    /// One query row with the heads fused: `keys` values.
    func fusedRow(_ query: Int, heads fusion: HeadFusion) throws -> [Double] {
        var result = [Double](repeating: 0, count: keys)
        switch fusion {
        case .head(let head):
            guard head >= 0 && head < heads else { throw MapError.headOutOfRange(head, heads: heads) }
            let base = (head * queries + query) * keys
            for k in 0..<keys { result[k] = Double(values[base + k]) }
        case .mean, .max, .min:
            for head in 0..<heads {
                let base = (head * queries + query) * keys
                for k in 0..<keys {
                    let v = Double(values[base + k])
                    switch fusion {
                    case .mean: result[k] += v
                    case .max: result[k] = head == 0 ? v : Swift.max(result[k], v)
                    default: result[k] = head == 0 ? v : Swift.min(result[k], v)
                    }
                }
            }
            if fusion == .mean { for k in 0..<keys { result[k] /= Double(heads) } }
        }
        return result
    }
}

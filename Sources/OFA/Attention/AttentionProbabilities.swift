// One layer's recorded attention probabilities: the engine's only attention-map type, read by the wire export and
// by Visualize. Head fusion (mean / max / min / one head) is written here once.

/// `[heads.count, rows.count, keys]` probabilities, row-major. Probabilities are softmax(s·q·kᵀ + position biases +
/// mask), taken before c_attn and the mid LayerNorm.
public struct AttentionProbabilities: Sendable, Equatable {
    public let kind: AttentionRequest.Kind
    public let layer: Int
    /// The model's head indices kept, in order.
    public let heads: [Int]
    /// The absolute query positions kept, in order.
    public let rows: [Int]
    public let keys: Int
    public let values: [Float]

    public var shape: [Int] { [heads.count, rows.count, keys] }

    init(recordedKind kind: AttentionRequest.Kind, layer: Int, heads: [Int], rows: [Int], keys: Int, values: [Float]) {
        self.kind = kind
        self.layer = layer
        self.heads = heads
        self.rows = rows
        self.keys = keys
        self.values = values
    }

    /// A map from plain arrays (fixtures, tests): `shape` is `[heads, rows, keys]`; heads and rows default to
    /// 0..<count.
    public init(
        kind: AttentionRequest.Kind, layer: Int, shape: [Int], values: [Float], heads: [Int]? = nil,
        rows: [Int]? = nil
    ) throws {
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }) else { throw AttentionShapeError.badShape(shape) }
        let (count, overflow) = shape[0].multipliedReportingOverflow(by: shape[1])
        let (total, overflow2) = count.multipliedReportingOverflow(by: shape[2])
        guard !overflow, !overflow2, values.count == total else {
            throw AttentionShapeError.valueCount(expected: overflow || overflow2 ? -1 : total, actual: values.count)
        }
        let heads = heads ?? Array(0..<shape[0])
        let rows = rows ?? Array(0..<shape[1])
        guard heads.count == shape[0] else { throw AttentionShapeError.labelCount("heads", heads.count, shape[0]) }
        guard rows.count == shape[1] else { throw AttentionShapeError.labelCount("rows", rows.count, shape[1]) }
        self.init(recordedKind: kind, layer: layer, heads: heads, rows: rows, keys: shape[2], values: values)
    }

    /// The recorded row index of a query row given positionally: 0..<rows.count, negative counting from the end.
    public func rowIndex(_ row: Int) throws -> Int {
        let index = row < 0 ? rows.count + row : row
        guard index >= 0 && index < rows.count else { throw AttentionShapeError.rowOutOfRange(row, rows: rows.count) }
        return index
    }

    /// One recorded row (by its index among the recorded rows) with the heads fused: `keys` values.
    /// `.head(h)` is the model's head h, which must have been recorded.
    public func fusedRow(_ index: Int, heads fusion: HeadFusion) throws -> [Double] {
        var result = [Double](repeating: 0, count: keys)
        let plane = rows.count * keys
        switch fusion {
        case .head(let head):
            guard let position = heads.firstIndex(of: head) else {
                throw AttentionShapeError.headNotRecorded(head, recorded: heads)
            }
            let base = position * plane + index * keys
            for k in 0..<keys { result[k] = Double(values[base + k]) }
        case .mean, .max, .min:
            for position in heads.indices {
                let base = position * plane + index * keys
                for k in 0..<keys {
                    let value = Double(values[base + k])
                    switch fusion {
                    case .mean: result[k] += value
                    case .max: result[k] = position == 0 ? value : Swift.max(result[k], value)
                    default: result[k] = position == 0 ? value : Swift.min(result[k], value)
                    }
                }
            }
            if fusion == .mean { for k in 0..<keys { result[k] /= Double(heads.count) } }
        }
        return result
    }

    /// Every recorded row with the heads fused: `[rows.count, keys]` row-major.
    public func fused(heads fusion: HeadFusion) throws -> [Float] {
        var result: [Float] = []
        result.reserveCapacity(rows.count * keys)
        for index in rows.indices { result += try fusedRow(index, heads: fusion).map(Float.init) }
        return result
    }
}

/// Why plain arrays do not make an attention map, or a row or head is not in one.
public enum AttentionShapeError: Error, Equatable, Sendable, CustomStringConvertible {
    case badShape([Int])
    case valueCount(expected: Int, actual: Int)
    case labelCount(String, Int, Int)
    case rowOutOfRange(Int, rows: Int)
    case headNotRecorded(Int, recorded: [Int])

    public var description: String {
        switch self {
        case .badShape(let shape): return "attention shape \(shape) is not [heads, queries, keys] with positive sizes"
        case .valueCount(let expected, let actual): return "attention has \(actual) values, its shape needs \(expected)"
        case .labelCount(let name, let count, let expected): return "\(count) \(name) given for \(expected)"
        case .rowOutOfRange(let row, let rows): return "query row \(row) is out of range (\(rows) rows recorded)"
        case .headNotRecorded(let head, let recorded): return "head \(head) was not recorded (heads \(recorded))"
        }
    }
}

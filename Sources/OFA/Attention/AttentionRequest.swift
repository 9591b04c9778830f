// What attention a request wants recorded, and what it gets back.

/// Which attention probabilities to keep. Only these are copied out of the forward pass.
public struct AttentionRequest: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case encoder
        case decoderSelf = "decoder_self"
        case cross
    }

    public var kinds: Set<Kind>
    /// Layers to keep (nil: all).
    public var layers: Set<Int>?
    /// Heads to keep, in this order (nil: all).
    public var heads: [Int]?
    /// Query rows to keep (nil: all). Negative values count from the end (−1: the answer-predicting row).
    public var rows: [Int]?

    public init(kinds: Set<Kind>, layers: Set<Int>? = nil, heads: [Int]? = nil, rows: [Int]? = nil) {
        self.kinds = kinds
        self.layers = layers
        self.heads = heads
        self.rows = rows
    }

    func wants(_ kind: Kind, layer: Int) -> Bool {
        kinds.contains(kind) && (layers?.contains(layer) ?? true)
    }
}

/// One layer's recorded attention probabilities, `[heads.count, rows.count, keys]` row-major.
/// Probabilities are softmax(s·q·kᵀ + position biases + mask), taken before c_attn and the mid LayerNorm.
public struct AttentionMap: Sendable, Equatable {
    public let kind: AttentionRequest.Kind
    public let layer: Int
    public let heads: [Int]
    /// Query positions kept (absolute indices).
    public let rows: [Int]
    public let keys: Int
    public let values: [Float]

    public var shape: [Int] { [heads.count, rows.count, keys] }
}

/// Where the columns and rows of encoder and cross attention point: image patches first, then text tokens.
public struct AttentionGeometry: Sendable, Equatable {
    /// Patch grid (rows × columns); encoder positions 0..<patchCount are patches, row-major.
    public let gridRows: Int
    public let gridColumns: Int
    /// Source token ids; encoder positions patchCount..<patchCount+count.
    public let sourceTokens: [Int]
    /// Decoder prompt token ids (decoder rows).
    public let decoderTokens: [Int]

    public var patchCount: Int { gridRows * gridColumns }
    public var sourceLength: Int { patchCount + sourceTokens.count }
}

/// Per-request recorder; a nil recorder costs nothing.
final class AttentionRecorder {
    let request: AttentionRequest
    private(set) var maps: [AttentionMap] = []

    init(_ request: AttentionRequest) { self.request = request }

    func record(_ kind: AttentionRequest.Kind, layer: Int, probabilities: Tensor, backend: Backend) {
        guard request.wants(kind, layer: layer) else { return }
        let headCount = probabilities.shape[0], queries = probabilities.shape[1], keys = probabilities.shape[2]
        let heads = (request.heads ?? Array(0..<headCount)).filter { $0 >= 0 && $0 < headCount }
        let rows = (request.rows ?? Array(0..<queries)).map { $0 < 0 ? queries + $0 : $0 }.filter {
            $0 >= 0 && $0 < queries
        }
        var values: [Float] = []
        values.reserveCapacity(heads.count * rows.count * keys)
        for head in heads {
            if rows.count == queries && rows == Array(0..<queries) {
                values += backend.read(probabilities, offset: head * queries * keys, count: queries * keys)
            } else {
                for row in rows {
                    values += backend.read(probabilities, offset: (head * queries + row) * keys, count: keys)
                }
            }
        }
        maps.append(AttentionMap(kind: kind, layer: layer, heads: heads, rows: rows, keys: keys, values: values))
    }
}

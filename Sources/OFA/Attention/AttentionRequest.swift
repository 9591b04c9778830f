// What attention a request wants recorded, and the per-request recorder that copies only that out of the forward.

/// Which attention probabilities to keep. Only these are copied out of the forward pass.
///
/// Rows are named one way everywhere: query positions of the attention matrix, negative counting from the end.
/// Decoder self and cross attention: −1 is the answer-predicting row. Encoder attention: positions
/// `0..<grid.count` are the image patches (row-major), then the source tokens (bos at `grid.count`).
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
    /// Query positions to keep (nil: all). Negative values count from the end (−1: the last row).
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

/// Where the columns and rows of encoder and cross attention point: image patches first, then text tokens.
public struct AttentionGeometry: Sendable, Equatable {
    /// Encoder positions 0..<grid.count are patches, row-major.
    public let grid: PatchGrid
    /// Source token ids; encoder positions grid.count..<grid.count+count.
    public let sourceTokens: [Int]
    /// Decoder prompt token ids (decoder rows).
    public let decoderTokens: [Int]

    public var patchCount: Int { grid.count }
    public var sourceLength: Int { grid.count + sourceTokens.count }
}

/// Per-request recorder; a nil recorder costs nothing.
final class AttentionRecorder {
    let request: AttentionRequest
    /// Test seam: changes a map in place before the forward pass uses it (finite-difference checks of ∇A).
    let edit: ((AttentionRequest.Kind, Int, Tensor) -> Void)?
    /// What was recorded, still in the backend's memory: the requested rows packed into one tensor per layer (the
    /// forward's own probabilities where all of them are wanted).
    private var pending: [Recorded] = []

    struct Recorded {
        let kind: AttentionRequest.Kind
        let layer: Int
        let heads: [Int]
        let rows: [Int]
        let keys: Int
        let tensor: Tensor
        let backend: Backend
    }

    /// The recorded maps, every layer's rows read back together (one copy from a device) when they are asked for.
    var maps: [AttentionProbabilities] {
        guard let backend = pending.first?.backend else { return [] }
        precondition(pending.allSatisfy { $0.backend === backend }, "attention recorded on two backends")
        let values = backend.read(pending.map(\.tensor))
        return zip(pending, values).map { entry, values in
            AttentionProbabilities(
                recordedKind: entry.kind, layer: entry.layer, heads: entry.heads, rows: entry.rows, keys: entry.keys,
                values: values)
        }
    }

    init(_ request: AttentionRequest, edit: ((AttentionRequest.Kind, Int, Tensor) -> Void)? = nil) {
        self.request = request
        self.edit = edit
    }

    /// Whether this layer's probabilities are wanted (or edited) at all.
    func needs(_ kind: AttentionRequest.Kind, layer: Int) -> Bool {
        edit != nil || request.wants(kind, layer: layer)
    }

    /// A recording closure for one layer, nil when the layer's probabilities are not needed.
    func recording(_ kind: AttentionRequest.Kind, layer: Int, backend: Backend) -> ((Tensor) -> Void)? {
        guard needs(kind, layer: layer) else { return nil }
        return { self.record(kind, layer: layer, probabilities: $0, backend: backend) }
    }

    func record(_ kind: AttentionRequest.Kind, layer: Int, probabilities: Tensor, backend: Backend) {
        edit?(kind, layer, probabilities)
        guard request.wants(kind, layer: layer) else { return }
        let headCount = probabilities.shape[0]
        let queries = probabilities.shape[1]
        let keys = probabilities.shape[2]
        let heads = (request.heads ?? Array(0..<headCount)).filter { $0 >= 0 && $0 < headCount }
        let rows = (request.rows ?? Array(0..<queries)).map { $0 < 0 ? queries + $0 : $0 }.filter {
            $0 >= 0 && $0 < queries
        }
        // Everything asked for: the tensor itself; else the rows wanted, packed on the backend by a gather.
        let packed: Tensor
        if heads == Array(0..<headCount) && rows == Array(0..<queries) {
            packed = probabilities
        } else {
            precondition(headCount * queries <= Int(Int32.max), "attention rows past the index range")
            let indices = heads.flatMap { head in rows.map { Int32(head * queries + $0) } }
            packed = backend.gatherRows(
                probabilities.reshaped([headCount * queries, keys]),
                indices: backend.makeIndices(shape: [indices.count], values: indices))
        }
        pending.append(
            Recorded(kind: kind, layer: layer, heads: heads, rows: rows, keys: keys, tensor: packed, backend: backend))
    }
}

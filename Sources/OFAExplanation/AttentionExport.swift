// The attention method's selection as the engine's AttentionRequest, and the recorded maps back as wire maps:
// head mean, query row, patch grid and the text of every row and column.
import OFA
import OFAPipeline
import OFAWire

struct AttentionExport {
    /// What the engine is asked to record (a superset when kinds have different layer counts).
    let request: AttentionRequest
    /// The (kind, layer) pairs answered, in the selection's order.
    let wanted: [(kind: AttentionRequest.Kind, layer: Int)]
    let headMean: Bool
    let queryPosition: Int?

    /// Checks every layer and head against the model; query positions are checked once the prompt is known.
    init(_ selection: AttentionSelection, model: ModelDescription) throws {
        let kinds = Self.unique(selection.kinds.map { AttentionRequest.Kind(rawValue: $0.rawValue)! })
        var wanted: [(kind: AttentionRequest.Kind, layer: Int)] = []
        for kind in kinds {
            let (part, layerCount, headCount) = Self.shape(of: kind, model)
            for layer in Self.unique(selection.layers ?? [layerCount - 1]) {
                guard layer < layerCount else {
                    throw ExplanationError.selectionOutOfRange(
                        "layer \(layer) of \(kind.rawValue) attention: the \(part) has \(layerCount) layers")
                }
                wanted.append((kind, layer))
            }
            if let head = selection.heads?.first(where: { $0 >= headCount }) {
                throw ExplanationError.selectionOutOfRange(
                    "head \(head) of \(kind.rawValue) attention: the \(part) has \(headCount) heads")
            }
        }
        self.wanted = wanted
        headMean = selection.headMean
        queryPosition = selection.queryPosition
        request = AttentionRequest(
            kinds: Set(kinds), layers: Set(wanted.map(\.layer)), heads: selection.heads,
            rows: queryPosition.map { [$0] })
    }

    /// The wire maps for `result`, which was asked for `request`.
    func maps(from result: EntailmentResult) throws -> [AttentionMap] {
        let geometry = result.geometry
        let encoderTokens = (0..<geometry.patchCount).map { "<img_\($0)>" } + result.tokenStrings
        let decoderTokens = result.decoderTokenStrings
        let grid = PatchGridSize(rows: geometry.grid.rows, cols: geometry.grid.columns)
        return try wanted.map { kind, layer in
            let queryTokens = kind == .encoder ? encoderTokens : decoderTokens
            let keyTokens = kind == .decoderSelf ? decoderTokens : encoderTokens
            if let position = queryPosition, position >= queryTokens.count || position < -queryTokens.count {
                throw ExplanationError.selectionOutOfRange(
                    "query position \(position) of \(kind.rawValue) attention: this prompt gives "
                        + "\(queryTokens.count) query rows")
            }
            guard let map = result.attention.first(where: { $0.kind == kind && $0.layer == layer }),
                map.keys == keyTokens.count
            else {
                throw ExplanationError.notRecorded("\(kind.rawValue) attention of layer \(layer)")
            }
            let values =
                headMean
                ? FloatArray(shape: [1, map.rows.count, map.keys], values: try map.fused(heads: .mean))
                : FloatArray(shape: map.shape, values: map.values)
            return AttentionMap(
                kind: AttentionKind(rawValue: kind.rawValue)!, layer: layer, heads: headMean ? nil : map.heads,
                queryPosition: queryPosition == nil ? nil : map.rows.first, values: values,
                patchGrid: kind == .decoderSelf ? nil : grid, queryTokens: map.rows.map { queryTokens[$0] },
                keyTokens: keyTokens)
        }
    }

    /// Which part of the model runs `kind`, with its layer and head counts.
    private static func shape(of kind: AttentionRequest.Kind, _ model: ModelDescription) -> (String, Int, Int) {
        switch kind {
        case .encoder: return ("encoder", model.encoderLayers, model.encoderAttentionHeads)
        case .decoderSelf, .cross: return ("decoder", model.decoderLayers, model.decoderAttentionHeads)
        }
    }

    private static func unique<T: Hashable>(_ items: [T]) -> [T] {
        var seen = Set<T>()
        return items.filter { seen.insert($0).inserted }
    }
}

// The attention method's selection as the engine's AttentionRequest, and the recorded maps back as wire maps:
// head mean, query row, patch grid and the text of every row and column.
import OFA
import OFAPipeline
import OFAWire

struct AttentionPlan {
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
                    throw EngineError.selectionOutOfRange(
                        "layer \(layer) of \(kind.rawValue) attention: the \(part) has \(layerCount) layers")
                }
                wanted.append((kind, layer))
            }
            if let head = selection.heads?.first(where: { $0 >= headCount }) {
                throw EngineError.selectionOutOfRange(
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
    func maps(from result: EntailmentResult) throws -> [OFAWire.AttentionMap] {
        let geometry = result.geometry
        let encoderTokens = (0..<geometry.patchCount).map { "<img_\($0)>" } + result.tokenStrings
        let decoderTokens = result.decoderTokenStrings
        let grid = PatchGrid(rows: geometry.gridRows, cols: geometry.gridColumns)
        return try wanted.map { kind, layer in
            let queryTokens = kind == .encoder ? encoderTokens : decoderTokens
            let keyTokens = kind == .decoderSelf ? decoderTokens : encoderTokens
            if let position = queryPosition, position >= queryTokens.count || position < -queryTokens.count {
                throw EngineError.selectionOutOfRange(
                    "query position \(position) of \(kind.rawValue) attention: this prompt gives "
                        + "\(queryTokens.count) query rows")
            }
            guard let map = result.attention.first(where: { $0.kind == kind && $0.layer == layer }),
                map.keys == keyTokens.count
            else {
                throw EngineError.failed("the engine did not record \(kind.rawValue) attention of layer \(layer)")
            }
            let values =
                headMean
                ? FloatArray(shape: [1, map.rows.count, map.keys], values: Self.meanOverHeads(map))
                : FloatArray(shape: map.shape, values: map.values)
            return OFAWire.AttentionMap(
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

    private static func meanOverHeads(_ map: OFA.AttentionMap) -> [Float] {
        let plane = map.rows.count * map.keys
        var sum = [Float](repeating: 0, count: plane)
        for head in 0..<map.heads.count {
            for index in 0..<plane { sum[index] += map.values[head * plane + index] }
        }
        let scale = 1 / Float(max(map.heads.count, 1))
        return sum.map { $0 * scale }
    }

    private static func unique<T: Hashable>(_ items: [T]) -> [T] {
        var seen = Set<T>()
        return items.filter { seen.insert($0).inserted }
    }
}

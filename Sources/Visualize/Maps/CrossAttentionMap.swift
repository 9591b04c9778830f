// Decoder cross-attention from one decoder position (by default the answer-predicting last row) to the patches.
//
// Recipe (ofa-spec §8): take the row, fuse the heads, keep columns 0..<patches. The patch block does not sum to 1
// because the text columns share the softmax; `renormalize` rescales it to sum to 1 over the block.
import OFA

extension Heatmap {
    /// One cross-attention layer `[heads, T (or the recorded rows), S]` → a patch map.
    public static func crossAttention(
        _ attention: AttentionProbabilities, grid: PatchGrid, heads: HeadFusion = .mean, row: Int = -1,
        renormalize: Bool = false
    ) throws -> Heatmap {
        let fused = try crossRow(attention, grid: grid, heads: heads, row: row)
        let method = MapMethod(
            name: "cross_attention",
            parameters: [
                "layer": String(attention.layer), "heads": heads.description, "row": String(row),
                "renormalized": String(renormalize),
            ])
        return Heatmap(grid: grid, doubles: patchSlice(fused, grid: grid, renormalize: renormalize), method: method)
    }

    /// The mean over several cross-attention layers (heads fused per layer first; renormalised after the mean).
    public static func crossAttention(
        layers: [AttentionProbabilities], grid: PatchGrid, heads: HeadFusion = .mean, row: Int = -1,
        renormalize: Bool = false
    ) throws -> Heatmap {
        let mean = try meanCrossRow(layers, grid: grid, heads: heads, row: row)
        let method = MapMethod(
            name: "cross_attention",
            parameters: [
                "layers": layers.map { String($0.layer) }.joined(separator: ","), "heads": heads.description,
                "row": String(row), "renormalized": String(renormalize),
            ])
        return Heatmap(grid: grid, doubles: patchSlice(mean, grid: grid, renormalize: renormalize), method: method)
    }

    /// Head-fused cross-attention row over all S source positions.
    static func crossRow(_ attention: AttentionProbabilities, grid: PatchGrid, heads: HeadFusion, row: Int) throws
        -> [Double]
    {
        guard attention.keys > grid.count else {
            throw MapError.keysMismatch(expected: grid.count + 1, actual: attention.keys)
        }
        return try attention.fusedRow(attention.rowIndex(row), heads: heads)
    }

    static func meanCrossRow(_ layers: [AttentionProbabilities], grid: PatchGrid, heads: HeadFusion, row: Int) throws
        -> [Double]
    {
        guard let first = layers.first else { throw MapError.noLayers }
        var sum = [Double](repeating: 0, count: first.keys)
        for layer in layers {
            guard layer.keys == first.keys else {
                throw MapError.keysMismatch(expected: first.keys, actual: layer.keys)
            }
            let fused = try crossRow(layer, grid: grid, heads: heads, row: row)
            for k in sum.indices { sum[k] += fused[k] }
        }
        return sum.map { $0 / Double(layers.count) }
    }
}

// The maps of a render or stats request, one per layer drawn, built from the one recording with Visualize: cross
// attention from the answer row, encoder text→image, or rollout × the answer's cross-attention.
import OFA
import OFAPipeline
import OFAWire
import Visualize

struct ExplanationMaps {
    /// One per layer of the plan, in its order, smoothed and sharpened as the plan asks (the maps as drawn).
    let maps: [Heatmap]
    let grid: PatchGrid

    /// `tokens`: the encoder source's text tokens (one token, or the hypothesis's).
    init(_ result: EntailmentResult, plan: RenderPlan, tokens: TokenSelection) throws {
        let grid = result.geometry.grid
        func recorded(_ kind: AttentionRequest.Kind, _ layer: Int) throws -> AttentionProbabilities {
            guard let map = result.attention.first(where: { $0.kind == kind && $0.layer == layer }) else {
                throw ExplanationError.notRecorded("\(kind.rawValue) attention of layer \(layer)")
            }
            return map
        }
        var maps: [Heatmap] = []
        switch plan.settings.source {
        case .cross:
            for layer in plan.layers {
                maps.append(
                    try Heatmap.crossAttention(
                        try recorded(.cross, layer), grid: grid, heads: plan.heads, renormalize: true))
            }
        case .encoder:
            for layer in plan.layers {
                maps.append(
                    try Heatmap.textToImage(
                        try recorded(.encoder, layer), grid: grid, tokens: tokens, heads: plan.heads,
                        renormalize: true))
            }
        case .relevance, .occlusion:
            throw ExplanationError.notRecorded("\(plan.settings.source.rawValue) maps come from their own passes")
        case .rollout:
            let encoder = result.attention.filter { $0.kind == .encoder }.sorted { $0.layer < $1.layer }
            let rollout = try AttentionRollout(
                encoder: encoder, fusion: plan.rolloutFusion, discardRatio: plan.settings.discardRatio)
            for layer in plan.layers {
                maps.append(
                    try Heatmap.rollout(
                        rollout, cross: [try recorded(.cross, layer)], grid: grid, heads: plan.heads,
                        renormalize: true))
            }
        }
        self.maps = maps.map { HeatmapOverlay.prepare($0, options: plan.options) }
        self.grid = grid
    }

    /// One map of the whole model (relevance, occlusion), processed as the plan asks.
    init(single values: [Float], grid: PatchGrid, method: MapMethod, plan: RenderPlan) throws {
        let map = try Heatmap(grid: grid, values: values, method: method)
        maps = [HeatmapOverlay.prepare(map, options: plan.options)]
        self.grid = grid
    }

    /// The first map's method with the layers of all of them.
    var combinedMethod: MapMethod {
        var method = maps[0].method
        guard maps.count > 1 else { return method }
        let layers = maps.compactMap { $0.method.parameters["layer"] ?? $0.method.parameters["cross_layers"] }
        if method.parameters.removeValue(forKey: "layer") != nil {
            method.parameters["layers"] = layers.joined(separator: ",")
        } else if method.parameters["cross_layers"] != nil {
            method.parameters["cross_layers"] = layers.joined(separator: ",")
        }
        return method
    }

    /// The method of the whole output; `averaged` when one image shows the mean over the layers.
    func method(drawnWith options: RenderOptions?, sharedScale: Bool, averaged: Bool) -> MapMethodInfo {
        var method = combinedMethod
        if averaged { method = method.adding(step: "mean_over_layers") }
        if let options {
            let scale = sharedScale && maps.count > 1 && !averaged ? "min_max(shared)" : "min_max"
            method = method.adding(step: "\(scale) | colormap(\(options.colormap.name), alpha=\(options.alpha))")
        }
        return MapMethodInfo(
            name: method.name, parameters: method.parameters, steps: method.steps, text: method.description)
    }

    /// Statistics of each map, positions in original-image pixels.
    func statistics(layers: [Int], imageWidth: Int, imageHeight: Int, focusThreshold: Double, topK: Int)
        -> [LayerStatistics]
    {
        zip(layers, maps).map { layer, map in
            let s = map.statistics(
                imageWidth: imageWidth, imageHeight: imageHeight, focusThreshold: focusThreshold, topK: topK)
            return LayerStatistics(
                layer: layer, mean: s.mean, max: s.max, min: s.min, std: s.std, entropy: s.entropy,
                normalizedEntropy: s.normalizedEntropy, focusArea: s.focusArea,
                centerOfMass: [s.centerOfMass.x, s.centerOfMass.y],
                topK: s.topPatches.map {
                    LayerStatistics.TopPatch(
                        row: $0.row, col: $0.column, value: $0.value, box: [$0.box.x0, $0.box.y0, $0.box.x1, $0.box.y1])
                })
        }
    }
}

// A render or stats request checked against the loaded model: the wire's RenderSettings with the layers and heads
// resolved, and the one recording the engine is asked for. Every rejection is a ParameterError naming its key.
import OFA
import OFAWire
import Visualize

public struct RenderPlan: Sendable {
    public let settings: RenderSettings
    public let hypothesis: String
    public let premise: String?
    /// Layers drawn, from 0, in the requested order (decoder layers for cross and rollout, encoder for encoder).
    public let layers: [Int]
    public let heads: HeadFusion
    /// rollout: head fusion per encoder layer.
    public let rolloutFusion: HeadFusion
    /// `forStats`: statistics only, nothing drawn.
    public let forStats: Bool
    /// relevance, occlusion, faithfulness: what is explained (nil: the predicted answer).
    public let target: RelevanceTarget?
    /// The model's answers, for naming targets.
    public let answers: [String]

    public init(_ params: RenderParams, model: ModelShape, forStats: Bool) throws {
        let settings = try RenderSettings(params)
        self.settings = settings
        hypothesis = params.hypothesis
        premise = params.premise
        self.forStats = forStats
        let part = settings.source.part
        // relevance and occlusion are one map of the whole model, listed as the last decoder layer's.
        layers =
            settings.source.isAttention
            ? try settings.resolvedLayers(count: model.layers(of: part), forStats: forStats)
            : [model.layers(of: .decoder) - 1]
        heads = Self.fusion(try settings.heads.checked(count: model.heads(of: part), part: part))
        rolloutFusion = Self.fusion(.fusion(settings.fusion))
        answers = model.answers
        target = try settings.target.map { try Self.target($0, answers: model.answers) }
    }

    /// A target by name, or a ParameterError naming "target".
    public static func target(_ name: String, answers: [String]) throws -> RelevanceTarget {
        guard let target = RelevanceTarget(name, answers: answers) else {
            throw ParameterError(
                "target",
                "\"\(name)\" is not one of this model's answers (\(answers.joined(separator: ", "))), two of them "
                    + "joined by \"-\" (a contrast), or \"predicted\"")
        }
        return target
    }

    /// How maps are drawn, from the settings.
    var options: RenderOptions {
        RenderOptions(
            colormap: Colormap.named(settings.colormap.rawValue)!, alpha: Float(settings.alpha),
            smoothingSigma: settings.smoothing, temperature: settings.temperature, colorbar: settings.colorbar)
    }

    /// What the engine records: only the rows and layers the maps read. `sourceRows` are the encoder rows of the
    /// chosen text tokens (patches first).
    func recording(sourceRows: [Int]) -> AttentionRequest {
        switch settings.source {
        case .cross: return AttentionRequest(kinds: [.cross], layers: Set(layers), rows: [-1])
        case .encoder: return AttentionRequest(kinds: [.encoder], layers: Set(layers), rows: sourceRows)
        case .rollout: return AttentionRequest(kinds: [.encoder, .cross])
        case .relevance, .occlusion: return AttentionRequest(kinds: [])
        }
    }

    static func fusion(_ choice: HeadChoice) -> HeadFusion {
        switch choice {
        case .index(let head): return .head(head)
        case .fusion(.mean): return .mean
        case .fusion(.max): return .max
        case .fusion(.min): return .min
        }
    }
}

// The explanation library's entry point over a VisualEntailmentPipeline: the attention method's raw arrays, and
// render / stats — one forward pass recording only what the maps read, the maps, then statistics and the drawing.
import Foundation
import ImageIO
import OFA
import OFAPipeline
import OFAWire
import Visualize

public struct Explainer: Sendable {
    public let pipeline: VisualEntailmentPipeline

    public init(pipeline: VisualEntailmentPipeline) { self.pipeline = pipeline }

    /// The model's shape as the wire carries it.
    public var modelShape: ModelShape {
        let model = pipeline.description
        return ModelShape(
            modelDimension: model.modelDimension, encoderLayers: model.encoderLayers,
            decoderLayers: model.decoderLayers, encoderHeads: model.encoderAttentionHeads,
            decoderHeads: model.decoderAttentionHeads,
            encoderFeedForwardDimension: model.encoderFeedForwardDimension,
            decoderFeedForwardDimension: model.decoderFeedForwardDimension, resnetType: model.resnetType,
            patchImageSize: model.patchImageSize, patchGrid: PatchGridSize(rows: model.gridSize, cols: model.gridSize),
            answers: model.answers, vocabularySize: model.vocabularySize,
            maximumSourceLength: model.maximumSourceLength)
    }

    /// The prediction with the attention `selection` asks for, as wire maps in its kinds' then layers' order.
    public func attention(
        image: PreparedImageFeatures, hypothesis: String, premise: String?, selection: AttentionSelection
    ) throws -> (Prediction, [AttentionMap]) {
        let export = try AttentionExport(selection, model: pipeline.description)
        let result = try pipeline.predict(
            image: image, hypothesis: hypothesis, premise: premise, attention: export.request)
        return (Prediction(result, hypothesis: hypothesis), try export.maps(from: result))
    }

    /// A render's or stats request's maps with their statistics and (unless the plan is for stats) the output file.
    /// `imageBytes` are decoded again for drawing, within `pixelLimit`. Work of many passes (occlusion, the
    /// faithfulness test) answers to `budget`.
    public func explain(
        image: PreparedImageFeatures, imageBytes: [UInt8], plan: RenderPlan, pixelLimit: Int,
        budget: WorkBudget = .unlimited
    ) throws -> Explanation {
        let clock = ContinuousClock()
        let start = clock.now
        let text = try pipeline.prepareText(hypothesis: plan.hypothesis, premise: plan.premise)
        let prediction: Prediction
        let maps: ExplanationMaps
        var tokenRelevance: [TokenRelevance]?
        var request = AttentionRequest(kinds: [])
        if plan.settings.source.isAttention {
            let tokens: TokenSelection
            if let token = plan.settings.token {
                guard token < text.sourceIDs.count else {
                    throw ParameterError(
                        "token",
                        "\(token) is out of range: this prompt has \(text.sourceIDs.count) source tokens (0 = bos)")
                }
                tokens = .token(token)
            } else {
                // The hypothesis's own tokens; every prompt token when none survived max_src_length.
                let span = text.hypothesisTokens.isEmpty ? 1..<max(1, text.sourceIDs.count - 1) : text.hypothesisTokens
                tokens = .mean(Array(span))
            }
            request = plan.recording(sourceRows: tokens.indices.map { image.grid.count + $0 })
            let result = try pipeline.predict(image: image, text: text, attention: request)
            prediction = Prediction(result, hypothesis: plan.hypothesis)
            maps = try ExplanationMaps(result, plan: plan, tokens: tokens)
        } else {
            let answer = try answerMap(image: image, text: text, plan: plan, budget: budget)
            prediction = Prediction(
                probabilities: answer.probabilities, answers: plan.answers, hypothesis: plan.hypothesis)
            maps = try ExplanationMaps(single: answer.values, grid: image.grid, method: answer.method, plan: plan)
            tokenRelevance = answer.tokens
        }
        let faithfulness = try faithfulnessReport(of: maps, image: image, text: text, plan: plan, budget: budget)
        let forward = clock.now

        let statistics = maps.statistics(
            layers: plan.layers, imageWidth: image.originalWidth, imageHeight: image.originalHeight,
            focusThreshold: plan.settings.focusThreshold, topK: plan.settings.topK)
        var output: RenderedOutput?
        var method = maps.method(drawnWith: nil, sharedScale: false, averaged: false)
        if !plan.forStats {
            let drawn =
                plan.settings.output == .npy ? nil : try ImageDecoder(pixelLimit: pixelLimit).decode(imageBytes).image
            output = try RenderedOutput(maps, plan: plan, image: drawn, prediction: prediction)
            method = maps.method(
                drawnWith: plan.settings.output == .npy ? nil : plan.options, sharedScale: plan.settings.sharedScale,
                averaged: plan.settings.output == .overlay && plan.layers.count > 1)
        }
        return Explanation(
            prediction: prediction, layers: plan.layers, method: method, statistics: statistics, output: output,
            patchGrid: PatchGridSize(rows: maps.grid.rows, cols: maps.grid.columns),
            imageWidth: image.originalWidth, imageHeight: image.originalHeight, recording: request,
            faithfulness: faithfulness, tokens: tokenRelevance,
            modelSeconds: Self.seconds(forward - start), renderSeconds: Self.seconds(clock.now - forward))
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}

/// What render and stats return before the transport adds its timings.
public struct Explanation: Sendable {
    public let prediction: Prediction
    /// The layers drawn, in order.
    public let layers: [Int]
    public let method: MapMethodInfo
    /// One entry per layer, in order.
    public let statistics: [LayerStatistics]
    /// The file (nil for stats).
    public let output: RenderedOutput?
    public let patchGrid: PatchGridSize
    /// The upright original image's size.
    public let imageWidth: Int
    public let imageHeight: Int
    /// What the one forward pass recorded: only what the maps read (nothing for relevance and occlusion).
    public let recording: AttentionRequest
    /// The map's perturbation test, when asked for.
    public let faithfulness: FaithfulnessReport?
    /// Source relevance: each source token's share.
    public let tokens: [TokenRelevance]?
    /// Text, forward pass; maps, statistics and drawing.
    public let modelSeconds: Double
    public let renderSeconds: Double
}

extension Prediction {
    /// The wire's verdict for one pipeline result.
    public init(_ result: EntailmentResult, hypothesis: String) {
        self.init(
            hypothesis: hypothesis, answer: result.answer, label: result.label,
            probabilities: Dictionary(uniqueKeysWithValues: result.probabilities.map { ($0.answer, $0.probability) }),
            closeCall: result.closeCall ? true : nil)
    }
}

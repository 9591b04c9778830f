// The explanation library on the committed tiny-a model: one forward pass per explanation recording only what the
// maps read, maps equal to Visualize's over the pipeline's own attention, and every model-dependent refusal named.
import Foundation
import OFA
import OFAExplanation
import OFAPipeline
import OFAWire
import Visualize
import XCTest

final class ExplainerTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    private static let pipeline = Result {
        try VisualEntailmentPipeline(modelDirectory: root.appendingPathComponent("models/tiny-a").path, threads: 1)
    }
    private let hypothesis = "two birds on a branch"

    private func setUp() throws -> (Explainer, PreparedImageFeatures, [UInt8]) {
        let pipeline = try Self.pipeline.get()
        let bytes = [UInt8](try Data(contentsOf: Self.root.appendingPathComponent("pipeline/images/photo-200x150.jpg")))
        return (Explainer(pipeline: pipeline), try pipeline.prepare(imageBytes: bytes), bytes)
    }

    private func plan(forStats: Bool = false, _ edit: (inout RenderParams) -> Void) throws -> RenderPlan {
        let (explainer, _, _) = try setUp()
        var params = RenderParams(image: ImageInput(bytes: []), hypothesis: hypothesis)
        edit(&params)
        return try RenderPlan(params, model: explainer.modelShape, forStats: forStats)
    }

    func testTheModelShapeIsStructuredFromTheConfiguration() throws {
        let (explainer, _, _) = try setUp()
        let shape = explainer.modelShape
        XCTAssertEqual([shape.modelDimension, shape.encoderLayers, shape.decoderLayers], [32, 2, 2])
        XCTAssertEqual([shape.encoderHeads, shape.decoderHeads], [4, 4])
        XCTAssertEqual(shape.patchGrid, PatchGridSize(rows: 4, cols: 4))
        XCTAssertEqual(shape.answers, ["no", "yes", "maybe"])
        let description = try Self.pipeline.get().description.description
        XCTAssertFalse(description.contains(Self.root.path), "no file path in the one-line description: \(description)")
    }

    func testEachSourceRecordsOnlyTheRowsAndLayersItsMapsRead() throws {
        let (explainer, image, bytes) = try setUp()
        let patches = image.grid.count
        let span = try Self.pipeline.get().prepareText(hypothesis: hypothesis).hypothesisTokens
        let cases: [(RenderPlan, AttentionRequest)] = [
            (try plan { $0.output = "grid" }, AttentionRequest(kinds: [.cross], layers: [0, 1], rows: [-1])),
            (
                try plan(forStats: true) { $0.layers = .list([1]) },
                AttentionRequest(kinds: [.cross], layers: [1], rows: [-1])
            ),
            (
                try plan { $0.source = "encoder" },
                AttentionRequest(kinds: [.encoder], layers: [1], rows: span.map { patches + $0 })
            ),
            (
                try plan {
                    $0.source = "encoder"
                    $0.token = 0
                }, AttentionRequest(kinds: [.encoder], layers: [1], rows: [patches])
            ),
            (try plan { $0.source = "rollout" }, AttentionRequest(kinds: [.encoder, .cross])),
        ]
        for (plan, expected) in cases {
            let explanation = try explainer.explain(image: image, imageBytes: bytes, plan: plan, pixelLimit: 1 << 24)
            XCTAssertEqual(explanation.recording, expected, "\(plan.settings.source) \(plan.layers)")
            XCTAssertEqual(explanation.layers, plan.layers)
            XCTAssertEqual(explanation.statistics.count, plan.layers.count)
            XCTAssertEqual(explanation.output == nil, plan.forStats)
        }
    }

    func testACrossMapIsVisualizesMapOfThePipelinesOwnAttention() throws {
        let (explainer, image, bytes) = try setUp()
        let plan = try plan {
            $0.output = "npy"
            $0.heads = .index(2)
            $0.layers = .list([0])
        }
        let explanation = try explainer.explain(image: image, imageBytes: bytes, plan: plan, pixelLimit: 1 << 24)
        let result = try Self.pipeline.get().predict(
            image: image, hypothesis: hypothesis, attention: AttentionRequest(kinds: [.cross], layers: [0]))
        let expected = try Heatmap.crossAttention(
            result.attention[0], grid: image.grid, heads: .head(2), renormalize: true)
        let output = try XCTUnwrap(explanation.output)
        XCTAssertEqual(try NPYFile.decode(output.bytes).values, expected.values)
        XCTAssertEqual(explanation.prediction.answer, result.answer)
        XCTAssertEqual(explanation.method.parameters["heads"], "head 2")
    }

    func testModelDependentChoicesAreRefusedNamingTheParameter() throws {
        let (explainer, image, bytes) = try setUp()
        XCTAssertThrowsError(try plan { $0.layers = .list([2]) }) {
            XCTAssertEqual(($0 as? ParameterError)?.key, "layers")
        }
        XCTAssertThrowsError(try plan { $0.heads = .index(4) }) {
            XCTAssertEqual(($0 as? ParameterError)?.key, "heads")
        }
        let tooFar = try plan {
            $0.source = "encoder"
            $0.token = 60
        }
        XCTAssertThrowsError(try explainer.explain(image: image, imageBytes: bytes, plan: tooFar, pixelLimit: 1 << 24))
        {
            XCTAssertEqual(($0 as? ParameterError)?.key, "token")
        }
    }

    func testTheAttentionMethodsHeadMeanIsTheMeanOfTheHeads() throws {
        let (explainer, image, _) = try setUp()
        let (_, each) = try explainer.attention(
            image: image, hypothesis: hypothesis, premise: nil,
            selection: AttentionSelection(kinds: [.cross], layers: [1], queryPosition: -1))
        let (_, mean) = try explainer.attention(
            image: image, hypothesis: hypothesis, premise: nil,
            selection: AttentionSelection(kinds: [.cross], layers: [1], headMean: true, queryPosition: -1))
        let heads = each[0].values.shape[0]
        let keys = each[0].values.shape[2]
        for key in 0..<keys {
            let sum = (0..<heads).reduce(Float(0)) { $0 + each[0].values.values[$1 * keys + key] }
            XCTAssertEqual(mean[0].values.values[key], sum / Float(heads), accuracy: 1e-6)
        }
        XCTAssertThrowsError(
            try explainer.attention(
                image: image, hypothesis: hypothesis, premise: nil, selection: AttentionSelection(layers: [5]))
        ) {
            XCTAssertEqual(
                $0 as? ExplanationError, .selectionOutOfRange("layer 5 of cross attention: the decoder has 2 layers"))
        }
    }
}

// The engine reproduces modelscope's OFA under PyTorch stage by stage on random-weight checkpoints
// (goldens from Tools/fixtures/make_engine_fixtures.py).
import XCTest

@testable import OFA

class ParityTests: XCTestCase {
    static let backend = CPUBackend(threads: 2)
    static var models: [String: OFAModel] = [:]

    static func model(_ name: String) throws -> OFAModel {
        if let model = models[name] { return model }
        let model = try OFAModel(directory: try Fixtures.model(name), backend: backend)
        models[name] = model
        return model
    }

    /// The model the stage-by-stage checks run (a subclass runs them on another backend).
    class func stageModel(_ name: String) throws -> OFAModel { try model(name) }

    /// Intermediate activations: within 1e-4 of the reference, relative to the tensor's scale.
    func assertClose(
        _ actual: [Float], _ expected: [Float], _ what: String, tolerance: Float = 1e-4,
        line: UInt = #line
    ) {
        let scale = max(1, expected.map(abs).max() ?? 1)
        let difference = maximumDifference(actual, expected, line: line)
        XCTAssertLessThanOrEqual(difference, tolerance * scale, "\(what): max abs difference \(difference)", line: line)
    }

    func checkEveryStage(model name: String) throws {
        let model = try Self.stageModel(name)
        let goldens = try Fixtures.goldens(name)
        XCTAssertFalse(goldens.cases.isEmpty)
        for description in goldens.cases {
            let label = description["name"] as! String
            func tensor(_ suffix: String) -> String { "\(label).\(suffix)" }
            guard goldens.has(tensor("source_ids")) else { continue }  // batch cases: see the batch test
            let imageShape = try goldens.shape(tensor("patch_image"))
            let probe = ForwardProbe()
            let image = model.imageFeatures(
                pixels: try goldens.floats(tensor("patch_image")), height: imageShape[1],
                width: imageShape[2], probe: probe)
            let request = AttentionRequest(kinds: Set(AttentionRequest.Kind.allCases))
            let result = try model.classify(
                image: image, sourceTokens: try goldens.integers(tensor("source_ids")),
                decoderTokens: try goldens.integers(tensor("decoder_ids")), answerTokens: model.answerTokens,
                attention: request, probe: probe)
            XCTAssertEqual(model.answerTokens, description["answer_token_ids"] as? [Int], "\(label): answer tokens")
            var stages = ["resnet_output", "encoder_input", "position_bias", "encoder_output", "decoder_logits"]
            stages += (0..<model.configuration.encoderLayers).map { "encoder_layer.\($0)" }
            for stage in stages {
                let recorded = try XCTUnwrap(probe.tensors[stage], "\(label): \(stage) not recorded")
                XCTAssertEqual(recorded.shape.reduce(1, *), try goldens.shape(tensor(stage)).reduce(1, *))
                assertClose(recorded.values, try goldens.floats(tensor(stage)), "\(name) \(label) \(stage)")
            }
            let probabilities = try goldens.floats(tensor("probabilities"))
            let difference = maximumDifference(result.probabilities, probabilities)
            XCTAssertLessThanOrEqual(difference, 1e-4, "\(name) \(label) probabilities \(result.probabilities)")
            XCTAssertEqual(model.task.answers[result.best], description["predicted_label"] as? String)
            XCTAssertEqual(
                result.attention.count,
                model.configuration.encoderLayers + 2 * model.configuration.decoderLayers)
            for map in result.attention {
                let expected = try goldens.floats(tensor("attention.\(map.kind.rawValue).\(map.layer)"))
                XCTAssertEqual(map.shape, try goldens.shape(tensor("attention.\(map.kind.rawValue).\(map.layer)")))
                let difference = maximumDifference(map.values, expected)
                XCTAssertLessThanOrEqual(difference, 1e-4, "\(name) \(label) \(map.kind) layer \(map.layer)")
            }
        }
    }

    func testTinyAMatchesTheReferenceAtEveryStage() throws { try checkEveryStage(model: "tiny-a") }
    func testTinyBMatchesTheReferenceAtEveryStage() throws { try checkEveryStage(model: "tiny-b") }
}

final class BatchAndFormatTests: XCTestCase {
    func testSeveralHypothesesAboutOneImageMatchTheReferencesPaddedBatch() throws {
        let model = try ParityTests.model("tiny-b")
        let goldens = try Fixtures.goldens("tiny-b")
        let batch = try XCTUnwrap(goldens.cases.first { $0["name"] as? String == "batch" })
        let hypotheses = try XCTUnwrap(batch["hypotheses"] as? [String])
        let shape = try goldens.shape("batch.patch_image")
        let image = model.imageFeatures(
            pixels: try goldens.floats("batch.patch_image"), height: shape[1],
            width: shape[2])
        let expected = try goldens.floats("batch.probabilities")
        XCTAssertEqual(expected.count, 3 * hypotheses.count)
        for index in hypotheses.indices {
            let result = try model.classify(
                image: image, sourceTokens: try goldens.integers("batch.source_ids.\(index)"),
                decoderTokens: try goldens.integers("batch.decoder_ids.\(index)"), answerTokens: model.answerTokens)
            let row = Array(expected[(3 * index)..<(3 * index + 3)])
            XCTAssertLessThanOrEqual(maximumDifference(result.probabilities, row), 1e-4, "hypothesis \(index)")
        }
    }

    func testBinSafetensorsAndFairseqCopiesOfOneCheckpointGiveIdenticalResults() throws {
        let goldens = try Fixtures.goldens("tiny-a")
        let shape = try goldens.shape("hypothesis.patch_image")
        let pixels = try goldens.floats("hypothesis.patch_image")
        let request = AttentionRequest(kinds: [.cross, .encoder], layers: [1])
        var results: [Classification] = []
        for name in ["tiny-a", "tiny-a-safetensors", "tiny-a-fairseq"] {
            let model = try OFAModel(directory: try Fixtures.model(name), backend: ParityTests.backend)
            let image = model.imageFeatures(pixels: pixels, height: shape[1], width: shape[2])
            results.append(
                try model.classify(
                    image: image, sourceTokens: try goldens.integers("hypothesis.source_ids"),
                    decoderTokens: try goldens.integers("hypothesis.decoder_ids"), answerTokens: model.answerTokens,
                    attention: request))
        }
        XCTAssertTrue(
            try OFAModel.findWeights(in: URL(fileURLWithPath: try Fixtures.model("tiny-a-fairseq")))
                .hasSuffix(".pt"))
        for other in results.dropFirst() {
            XCTAssertEqual(other.probabilities, results[0].probabilities)
            XCTAssertEqual(other.attention, results[0].attention)
        }
    }

    func testRecordingKeepsOnlyTheRequestedLayersHeadsAndRows() throws {
        let model = try ParityTests.model("tiny-a")
        let goldens = try Fixtures.goldens("tiny-a")
        let shape = try goldens.shape("premise.patch_image")
        let image = model.imageFeatures(
            pixels: try goldens.floats("premise.patch_image"), height: shape[1],
            width: shape[2])
        let request = AttentionRequest(kinds: [.cross], layers: [1], heads: [3, 0], rows: [-1])
        let result = try model.classify(
            image: image, sourceTokens: try goldens.integers("premise.source_ids"),
            decoderTokens: try goldens.integers("premise.decoder_ids"), answerTokens: model.answerTokens,
            attention: request)
        XCTAssertEqual(result.attention.count, 1)
        let map = try XCTUnwrap(result.attention.first)
        let full = try goldens.floats("premise.attention.cross.1")
        let fullShape = try goldens.shape("premise.attention.cross.1")
        let (queries, keys) = (fullShape[1], fullShape[2])
        XCTAssertEqual(map.shape, [2, 1, keys])
        XCTAssertEqual(map.rows, [queries - 1])
        XCTAssertEqual(keys, result.geometry.sourceLength)
        XCTAssertEqual(result.geometry.patchCount, 16)
        for (slot, head) in [3, 0].enumerated() {
            let start = (head * queries + queries - 1) * keys
            let expected = Array(full[start..<(start + keys)])
            let actual = Array(map.values[(slot * keys)..<((slot + 1) * keys)])
            XCTAssertLessThanOrEqual(maximumDifference(actual, expected), 1e-4)
        }
    }
}

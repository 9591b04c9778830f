// The OFA-large shape, outside CI: a random checkpoint with exactly the 1625 keys of OFA-large loads strictly and
// matches the reference's probabilities. Set OFA_LARGE_FIXTURES to the folder made by
// `make_engine_fixtures.py --large DIR` (e.g. Fixtures-large); without it the test skips.
import Foundation
import XCTest

@testable import OFA

final class LargeModelTests: XCTestCase {
    func folder() throws -> String {
        guard let folder = ProcessInfo.processInfo.environment["OFA_LARGE_FIXTURES"] else {
            throw XCTSkip("OFA_LARGE_FIXTURES is not set: the OFA-large check runs outside CI (see BENCHMARKS.md)")
        }
        return folder
    }

    /// The model on `backend`, goldens-large's query through it, goldens-large's tensor of a name, and the case's
    /// name prefix.
    func query(
        _ backend: CPUBackend, attention: AttentionRequest? = nil, closeCallMargin: Float = CloseCall.defaultMargin
    ) throws -> (OFAModel, Classification, (String) throws -> TensorValues, String) {
        let folder = try folder()
        let model = try OFAModel(directory: folder + "/ofa-large-random", backend: backend)
        let inputs = try TensorFile.read(path: folder + "/goldens-large.safetensors")
        let prefix = try XCTUnwrap(inputs.keys.first { $0.hasSuffix(".patch_image") }).dropLast("patch_image".count)
        let input = { (name: String) throws -> TensorValues in try XCTUnwrap(inputs[prefix + name], name) }
        let image = try input("patch_image")
        let result = try model.classify(
            image: model.imageFeatures(pixels: image.floats, height: image.shape[1], width: image.shape[2]),
            sourceTokens: try input("source_ids").integers, decoderTokens: try input("decoder_ids").integers,
            answerTokens: model.answerTokens, attention: attention, closeCallMargin: closeCallMargin)
        return (model, result, input, String(prefix))
    }

    func testTheOFALargeShapedCheckpointLoadsAndMatchesTheReference() throws {
        let (model, result, input, prefix) = try query(
            CPUBackend(threads: 2), attention: AttentionRequest(kinds: [.cross], layers: [11]))
        let folder = try folder()
        XCTAssertEqual(model.configuration.modelDimension, 1024)
        XCTAssertEqual(model.configuration.encoderLayers, 12)
        XCTAssertEqual(try model.configuration.resnetBlocks, [3, 8, 36])
        XCTAssertEqual(model.answerTokens, [117, 4420, 2085])
        // At this depth float32 itself is the limit. Against a float64 run of the reference
        // (Tools/fixtures/large_precision.py → goldens-large-fp64) PyTorch's own float32 run is off by 8.3e-5 in
        // the probabilities and 7.6e-4 in the last cross attention, so the engine is held to 1e-4 / 1e-3 of the
        // float64 truth, and to twice that of the float32 reference (the two float32 errors add up).
        let cross = try XCTUnwrap(result.attention.first)
        XCTAssertEqual(cross.shape, try input("attention.cross.11").shape)
        XCTAssertLessThanOrEqual(maximumDifference(result.probabilities, try input("probabilities").floats), 2e-4)
        XCTAssertLessThanOrEqual(maximumDifference(cross.values, try input("attention.cross.11").floats), 2e-3)
        let exactPath = folder + "/goldens-large-fp64.safetensors"
        guard FileManager.default.fileExists(atPath: exactPath) else {
            throw XCTSkip(
                "no goldens-large-fp64.safetensors: run Tools/fixtures/large_precision.py for the float64 check")
        }
        let exact = try TensorFile.read(path: exactPath)
        func truth(_ name: String) throws -> [Float] { try XCTUnwrap(exact[prefix + name], name).floats }
        XCTAssertLessThanOrEqual(maximumDifference(result.probabilities, try truth("probabilities")), 1e-4)
        XCTAssertLessThanOrEqual(maximumDifference(cross.values, try truth("attention.cross.11")), 1e-3)
    }

    /// bf16 on the OFA-large shape: the float32 answer, |Δp| ≤ 0.05 and no further than PyTorch's autocast run
    /// (make_bf16_yardstick.py --large DIR writes DIR/bf16-autocast-large.json).
    func testBFloat16OnTheOFALargeShapeIsNoFurtherFromFloat32ThanPyTorchsAutocast() throws {
        let folder = try folder()
        guard CPUBackend.offeredPrecisions.contains(.bfloat16) else { throw XCTSkip("this CPU offers no bf16") }
        let yardstickData = try Data(contentsOf: URL(fileURLWithPath: folder + "/bf16-autocast-large.json"))
        let yardstick = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: yardstickData) as? [String: [String: Any]])?.values.first)
        let theirs = try XCTUnwrap(yardstick["max_abs_difference"] as? Double)
        let (_, result, input, _) = try query(try CPUBackend(threads: 2, precision: .bfloat16))
        let reference = try input("probabilities").floats
        let ours = maximumDifference(result.probabilities, reference)
        print("bf16 OFA-large: max |Δp| ours \(ours), PyTorch autocast \(theirs)")
        XCTAssertEqual(result.best, reference.indices.max { reference[$0] < reference[$1] })
        XCTAssertLessThanOrEqual(ours, 0.05)
        XCTAssertLessThanOrEqual(Double(ours), theirs)
    }

    /// A close call on the OFA-large shape (forced: a margin of 1 makes every answer one) is scored again within 0.01
    /// of float32 (measured 0.0037, against 0.039 for plain bf16).
    func testABFloat16CloseCallOnTheOFALargeShapeIsScoredAgainNearFloat32() throws {
        guard CPUBackend.offeredPrecisions.contains(.bfloat16) else { throw XCTSkip("this CPU offers no bf16") }
        let (_, result, input, _) = try query(try CPUBackend(threads: 2, precision: .bfloat16), closeCallMargin: 1)
        let reference = try input("probabilities").floats
        XCTAssertTrue(result.closeCall)
        XCTAssertEqual(result.best, reference.indices.max { reference[$0] < reference[$1] })
        XCTAssertLessThanOrEqual(maximumDifference(result.probabilities, reference), 0.01)
    }
}

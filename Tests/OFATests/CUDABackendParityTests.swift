// The CUDA backend reproduces modelscope's OFA with its every call run on the host (HostQueue: its kernels compiled
// as C++, cuBLAS's column-major product in float64): ParityTests' stage-by-stage checks (every attention map
// included), the relevance backward pass, occlusion and faithfulness on the tiny fixtures. The device check runs the
// same models on a GPU.
import FixtureSupport
import XCTest

@testable import OFA

/// One CUDA backend on a HostQueue per fixture model, shared by the classes below.
enum CUDAOnTheHost {
    nonisolated(unsafe) static var backends: [String: CUDABackend] = [:]
    nonisolated(unsafe) static var models: [String: OFAModel] = [:]

    static func model(_ name: String) throws -> OFAModel {
        if let model = models[name] { return model }
        let queue: HostQueue
        do { queue = try HostQueue() } catch let error as HostQueue.Unavailable { throw XCTSkip(error.description) }
        let backend = try CUDABackend(queue: queue, precision: .float32)
        let model = try OFAModel(directory: try Fixtures.model(name), backend: backend)
        backends[name] = backend
        models[name] = model
        return model
    }

    static func assertNoFailure() {
        for (name, backend) in backends { XCTAssertNil(backend.takeFailure(), "\(name): a CUDA call failed") }
    }
}

final class CUDABackendOnTheHostParityTests: ParityTests {
    override class func stageModel(_ name: String) throws -> OFAModel { try CUDAOnTheHost.model(name) }
    override func tearDown() { CUDAOnTheHost.assertNoFailure() }

    // Declared again so that XCTest on Linux finds them in this class.
    override func testTinyAMatchesTheReferenceAtEveryStage() throws { try checkEveryStage(model: "tiny-a") }
    override func testTinyBMatchesTheReferenceAtEveryStage() throws { try checkEveryStage(model: "tiny-b") }
}

final class CUDABackendOnTheHostRelevanceTests: RelevanceParityTests {
    override class func model(_ name: String) throws -> OFAModel { try CUDAOnTheHost.model(name) }
    override func tearDown() { CUDAOnTheHost.assertNoFailure() }

    override func testTinyARelevanceMatchesTheReferenceAtEveryStep() throws { try checkRelevance(model: "tiny-a") }
    override func testTinyBRelevanceMatchesTheReferenceAtEveryStep() throws { try checkRelevance(model: "tiny-b") }
}

final class CUDABackendOnTheHostPerturbationTests: PerturbationParityTests {
    override class func model(_ name: String) throws -> OFAModel { try CUDAOnTheHost.model(name) }
    override func tearDown() { CUDAOnTheHost.assertNoFailure() }

    override func testTinyATextOcclusionMatchesTheReference() throws { try checkTextOcclusion("tiny-a") }
    override func testTinyAOcclusionMatchesTheReference() throws { try checkOcclusion("tiny-a") }
    override func testTinyAFaithfulnessMatchesTheReference() throws { try checkFaithfulness("tiny-a") }
}

final class CUDABackendOnTheHostTrafficTests: XCTestCase {
    /// Every attention map of every layer (encoder, decoder self, cross; all heads and rows) comes back in one copy
    /// from the device, packed there: recording costs one download more than a prediction without it.
    func testAllRecordedAttentionComesBackInOneCopy() throws {
        let queue: HostQueue
        do { queue = try HostQueue() } catch let error as HostQueue.Unavailable { throw XCTSkip(error.description) }
        let backend = try CUDABackend(queue: queue, precision: .float32)
        let model = try OFAModel(directory: try Fixtures.model("tiny-a"), backend: backend)
        let goldens = try Fixtures.goldens("tiny-a")
        let shape = try goldens.shape("premise.patch_image")
        let image = model.imageFeatures(
            pixels: try goldens.floats("premise.patch_image"), height: shape[1], width: shape[2])
        func downloads(_ request: AttentionRequest?) throws -> (Int, Classification) {
            let before = queue.downloads
            let result = try model.classify(
                image: image, sourceTokens: try goldens.integers("premise.source_ids"),
                decoderTokens: try goldens.integers("premise.decoder_ids"), answerTokens: model.answerTokens,
                attention: request)
            return (queue.downloads - before, result)
        }
        let (plain, _) = try downloads(nil)
        let (recorded, result) = try downloads(AttentionRequest(kinds: Set(AttentionRequest.Kind.allCases)))
        let layers = model.configuration.encoderLayers + 2 * model.configuration.decoderLayers
        XCTAssertEqual(result.attention.count, layers)
        XCTAssertEqual(recorded, plain + 1, "\(layers) maps in \(recorded - plain) copies")
        for map in result.attention where map.kind == .cross {
            let expected = try goldens.floats("premise.attention.cross.\(map.layer)")
            XCTAssertLessThanOrEqual(zip(map.values, expected).map { abs($0 - $1) }.max() ?? 1, 1e-4)
        }
        XCTAssertNil(backend.takeFailure())
    }
}

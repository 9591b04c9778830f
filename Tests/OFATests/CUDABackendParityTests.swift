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

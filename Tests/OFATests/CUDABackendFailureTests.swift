// The CUDA backend out of device memory, on the host: a request that runs out fails alone with the reason, nothing
// touches what its failed allocation left, and the daemon's next request gets the right answer.
import FixtureSupport
import XCTest

@testable import OFA

final class CUDABackendFailureTests: XCTestCase {
    /// Out of device memory in the middle of a forward pass: the failure is reported, nothing touches the failed
    /// allocation's placeholder, and the next request gives the right answer.
    func testARequestThatRunsOutOfDeviceMemoryFailsAloneAndTheNextOneIsRight() throws {
        let host: HostQueue
        do { host = try HostQueue() } catch let error as HostQueue.Unavailable { throw XCTSkip(error.description) }
        // Allocations fail from the `failingFrom`-th on, as a GPU out of memory does.
        let failingFrom = Locked(Int.max)
        let allocated = Locked(0)
        let workAfterFailure = Locked(0)
        let queue = HookedQueue(
            host,
            beforeAllocate: { count, bytes throws(CUDAError) in
                allocated.value = count
                if count >= failingFrom.value { throw .outOfMemory(bytes: bytes) }
            },
            beforeWork: {
                if allocated.value >= failingFrom.value { workAfterFailure.update { $0 += 1 } }
            })
        let backend = try CUDABackend(queue: queue, precision: .float32)
        let model = try OFAModel(directory: try Fixtures.model("tiny-a"), backend: backend)
        let goldens = try Fixtures.goldens("tiny-a")
        let label = "hypothesis"
        let shape = try goldens.shape("\(label).patch_image")
        func classify() throws -> [Float] {
            let image = model.imageFeatures(
                pixels: try goldens.floats("\(label).patch_image"), height: shape[1], width: shape[2])
            return try model.classify(
                image: image, sourceTokens: try goldens.integers("\(label).source_ids"),
                decoderTokens: try goldens.integers("\(label).decoder_ids"), answerTokens: model.answerTokens
            ).probabilities
        }
        XCTAssertNil(backend.takeFailure(), "the load")
        failingFrom.value = queue.allocations.value + 40
        _ = try classify()
        guard case .outOfMemory? = backend.takeFailure() else { return XCTFail("no out-of-memory reported") }
        XCTAssertEqual(workAfterFailure.value, 0, "nothing ran after the failed allocation")
        failingFrom.value = .max
        let probabilities = try classify()
        XCTAssertNil(backend.takeFailure())
        let expected = try goldens.floats("\(label).probabilities")
        XCTAssertLessThanOrEqual(zip(probabilities, expected).map { abs($0 - $1) }.max()!, 1e-4)
    }
}

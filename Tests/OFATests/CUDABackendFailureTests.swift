// The CUDA backend out of device memory, on the host: a request that runs out fails alone with the reason, nothing
// touches what its failed allocation left, and the daemon's next request gets the right answer.
import FixtureSupport
import XCTest

@testable import OFA

/// A queue whose allocations fail from the `failingFrom`-th on, as a GPU out of memory does.
final class ExhaustedQueue: GPUQueue, @unchecked Sendable {
    let inner: HostQueue
    var allocations = 0
    var failingFrom = Int.max
    var launchesAfterFailure = 0
    var rowLanes: Int { inner.rowLanes }
    var description: String { "exhausted " + inner.description }

    init(_ inner: HostQueue) { self.inner = inner }

    func allocate(_ bytes: Int) throws(CUDAError) -> UInt64 {
        allocations += 1
        if allocations >= failingFrom { throw .outOfMemory(bytes: bytes) }
        return try inner.allocate(bytes)
    }
    func release(_ address: UInt64) { inner.release(address) }
    func upload(_ bytes: UnsafeRawPointer, count: Int, to address: UInt64) throws(CUDAError) {
        try inner.upload(bytes, count: count, to: address)
    }
    func download(_ address: UInt64, count: Int, into bytes: UnsafeMutableRawPointer) throws(CUDAError) {
        try inner.download(address, count: count, into: bytes)
    }
    func copy(_ from: UInt64, to: UInt64, count: Int) throws(CUDAError) { try inner.copy(from, to: to, count: count) }
    func synchronize() throws(CUDAError) { try inner.synchronize() }
    func fill(_ address: UInt64, word: UInt32, count: Int) throws(CUDAError) {
        try inner.fill(address, word: word, count: count)
    }
    func launch(_ kernel: String, blocks: Int, threads: Int, _ arguments: [KernelArgument]) throws(CUDAError) {
        if allocations >= failingFrom { launchesAfterFailure += 1 }
        try inner.launch(kernel, blocks: blocks, threads: threads, arguments)
    }
    func multiply(_ product: ColumnMajorProduct) throws(CUDAError) {
        if allocations >= failingFrom { launchesAfterFailure += 1 }
        try inner.multiply(product)
    }
}

final class CUDABackendFailureTests: XCTestCase {
    /// Out of device memory in the middle of a forward pass: the failure is reported, nothing touches the failed
    /// allocation's placeholder, and the next request gives the right answer.
    func testARequestThatRunsOutOfDeviceMemoryFailsAloneAndTheNextOneIsRight() throws {
        let host: HostQueue
        do { host = try HostQueue() } catch let error as HostQueue.Unavailable { throw XCTSkip(error.description) }
        let queue = ExhaustedQueue(host)
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
        queue.failingFrom = queue.allocations + 40
        _ = try classify()
        guard case .outOfMemory? = backend.takeFailure() else { return XCTFail("no out-of-memory reported") }
        XCTAssertEqual(queue.launchesAfterFailure, 0, "nothing ran after the failed allocation")
        queue.failingFrom = .max
        let probabilities = try classify()
        XCTAssertNil(backend.takeFailure())
        let expected = try goldens.floats("\(label).probabilities")
        XCTAssertLessThanOrEqual(zip(probabilities, expected).map { abs($0 - $1) }.max()!, 1e-4)
    }
}

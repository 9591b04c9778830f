// ofad's engine on the CUDA backend, its every call run on the host (HostQueue): each worker's requests on a stream
// of their own, side by side, with the CPU's answers; and a GPU fault that loses the device's context, which fails
// that request and every later one, turns health to failed and (under the unit's --on-load-failure exit) ends the
// daemon with status 1 so that systemd's Restart=on-failure starts a fresh process.
import FixtureSupport
import Foundation
import OFA
import OFAWire
import XCTest

@testable import OFAServer

/// A hook on the GPU's work that fails it with `error` while `on` is set.
private func failing(while on: Locked<Bool>, with error: CUDAError) -> @Sendable () throws(CUDAError) -> Void {
    { () throws(CUDAError) in if on.value { throw error } }
}

final class CUDAEngineOnTheHostTests: XCTestCase {
    private let hypotheses = ["there are two birds.", "a cat sits on the sofa."]

    private func hostQueue() throws -> HostQueue {
        do { return try HostQueue() } catch let error as HostQueue.Unavailable { throw XCTSkip(error.description) }
    }

    private func engine(queues: [GPUQueue]) throws -> PipelineEngine {
        let backend = try CUDABackend(queues: queues, precision: .float32)
        let options = EngineOptions(
            modelDirectory: TinyModel.directory, threads: 1, device: .cuda(0), maximumImagePixels: 1 << 24,
            workers: queues.count)
        return try PipelineEngine(options: options, backend: backend)
    }

    private func assertClose(_ actual: [Prediction], _ expected: [Prediction], _ context: String) {
        XCTAssertEqual(actual.map(\.answer), expected.map(\.answer), context)
        for (a, e) in zip(actual, expected) {
            for (answer, probability) in e.probabilities {
                XCTAssertEqual(a.probabilities[answer] ?? -1, probability, accuracy: 1e-4, "\(context): \(answer)")
            }
        }
    }

    /// Two workers' requests meet inside the GPU's work: each one's first launch waits until the other's has come,
    /// which cannot happen if the requests took turns at one stream. Both get the CPU pipeline's answers, and each
    /// lane's queue ran kernels.
    func testTwoWorkersRunSideBySideOnStreamsOfTheirOwnAndGetTheCPUsAnswers() throws {
        let arrived = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        let met = Locked(false)
        // Set when the test starts its requests; each lane's first launch then clears its own.
        let waiting = [Locked(false), Locked(false)]
        let hosts = [try hostQueue(), try hostQueue()]
        let queues = hosts.indices.map { lane in
            HookedQueue(hosts[lane]) {
                guard waiting[lane].value else { return }
                waiting[lane].value = false
                arrived[lane].signal()
                // The other lane's first launch while this one waits in its own.
                if arrived[1 - lane].wait(timeout: .now() + 20) == .success { met.value = true }
            }
        }
        let engine = try engine(queues: queues)
        let loadLaunches = hosts.map { $0.launches.values.reduce(0, +) }
        let images = TinyModel.imageNames.prefix(2).map(TinyModel.image)
        let expected = try images.map { try TinyModel.expected($0, hypotheses) }
        for flag in waiting { flag.value = true }
        let answers = Locked<[Int: Result<[Prediction], any Error>]>([:])
        runConcurrently(2, stackBytes: 8 << 20) { [hypotheses] index, _ in
            let result = Result {
                try engine.predict(
                    image: try engine.prepareImage(images[index], seconds: 60), hypotheses: hypotheses, premise: nil)
            }
            answers.update { $0[index] = result }
        }
        XCTAssertTrue(met.value, "the two requests never ran at once")
        for index in 0..<2 {
            assertClose(try XCTUnwrap(answers.value[index]).get(), expected[index], "image \(index)")
        }
        for (lane, host) in hosts.enumerated() {
            XCTAssertGreaterThan(host.launches.values.reduce(0, +), loadLaunches[lane], "lane \(lane) ran nothing")
        }
        XCTAssertEqual(engine.describe().gpu, nil, "a host queue is no GPU to report")
        XCTAssertNil(engine.fault)
    }

    /// The features one lane made are complete when another lane's request uses them (the image cache's case).
    func testAnImagePreparedOnOneLaneAnswersRightOnAnother() throws {
        let engine = try engine(queues: [try hostQueue(), try hostQueue()])
        let image = TinyModel.image(TinyModel.imageNames[0])
        let prepared = try engine.prepareImage(image, seconds: 60)
        let expected = try TinyModel.expected(image, hypotheses)
        let answers = Locked<[Result<[Prediction], any Error>]>([])
        runConcurrently(4, stackBytes: 8 << 20) { [hypotheses] _, _ in
            let result = Result { try engine.predict(image: prepared, hypotheses: hypotheses, premise: nil) }
            answers.update { $0.append(result) }
        }
        XCTAssertEqual(answers.value.count, 4)
        for answer in answers.value { assertClose(try answer.get(), expected, "") }
    }

    /// A launch that fails with an illegal address (a lost context): that request fails with the reason, every
    /// later request fails too (nothing more is queued on any lane), and the engine reports its fault.
    func testAGPUFaultThatLosesTheContextFailsThatRequestAndEveryLaterOne() throws {
        let faulting = Locked(false)
        let illegalAddress = CUDAError.driver(
            call: "cuLaunchKernel", code: 700, message: "an illegal memory access was encountered")
        let queues = [try hostQueue(), try hostQueue()].map {
            HookedQueue($0, beforeWork: failing(while: faulting, with: illegalAddress))
        }
        let engine = try engine(queues: queues)
        let image = TinyModel.image(TinyModel.imageNames[0])
        let prepared = try engine.prepareImage(image, seconds: 60)
        XCTAssertNil(engine.fault)
        faulting.value = true
        XCTAssertThrowsError(try engine.predict(image: prepared, hypotheses: hypotheses, premise: nil)) {
            guard case .failed(let why)? = $0 as? EngineError else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("illegal memory access"), why)
        }
        faulting.value = false
        let fault = try XCTUnwrap(engine.fault)
        XCTAssertTrue(fault.contains("until ofad restarts"), fault)
        let later = Locked<[Result<[Prediction], any Error>]>([])
        runConcurrently(2, stackBytes: 8 << 20) { [hypotheses] _, _ in
            let result = Result { try engine.predict(image: prepared, hypotheses: hypotheses, premise: nil) }
            later.update { $0.append(result) }
        }
        for result in later.value { XCTAssertThrowsError(try result.get()) }
        XCTAssertThrowsError(try engine.prepareImage(image, seconds: 60))
    }

    /// The weights are carved from one arena: the whole load makes one device allocation (tiny-a is far below a
    /// block), the load's temporaries are reused so the weights span little more than they use, and requests take
    /// their memory from the pool, not the arena.
    func testTheWeightsLiveInOneArenaAndRequestsUseThePool() throws {
        let queue = HookedQueue(try hostQueue()) {}
        let engine = try engine(queues: [queue])
        let gpu = try XCTUnwrap(engine.gpu)
        XCTAssertEqual(queue.allocations.value, 1, "allocations while loading")
        let weights = gpu.weightMemory
        XCTAssertEqual(weights.reserved, WeightArena.blockBytes)
        XCTAssertGreaterThan(weights.used, 4 << 20, "tiny-a's weights")
        XCTAssertLessThanOrEqual(Double(weights.extent), 1.05 * Double(weights.used), "\(weights)")
        let image = TinyModel.image(TinyModel.imageNames[0])
        assertClose(
            try engine.predict(
                image: try engine.prepareImage(image, seconds: 60), hypotheses: hypotheses, premise: nil),
            try TinyModel.expected(image, hypotheses), "")
        XCTAssertGreaterThan(queue.allocations.value, 1, "a request's memory")
        XCTAssertTrue(gpu.weightMemory == weights, "a request carved from the arena")
    }

    /// Out of memory is not a fault: the request fails busy and the next one answers.
    func testOutOfDeviceMemoryFailsOnlyThatRequest() throws {
        let exhausted = Locked(false)
        let queues = [
            HookedQueue(try hostQueue(), beforeWork: failing(while: exhausted, with: .outOfMemory(bytes: 1 << 30)))
        ]
        let engine = try engine(queues: queues)
        let image = TinyModel.image(TinyModel.imageNames[0])
        let prepared = try engine.prepareImage(image, seconds: 60)
        exhausted.value = true
        XCTAssertThrowsError(try engine.predict(image: prepared, hypotheses: hypotheses, premise: nil)) {
            guard case .busy? = $0 as? EngineError else { return XCTFail("\($0)") }
        }
        exhausted.value = false
        XCTAssertNil(engine.fault)
        assertClose(
            try engine.predict(image: prepared, hypotheses: hypotheses, premise: nil),
            try TinyModel.expected(image, hypotheses), "after the failure")
    }

    /// The daemon over an engine whose GPU faults: the failing request is answered, health turns failed with the
    /// reason, and with --on-load-failure exit (the unit's) the daemon stops with exit status 1 for systemd to
    /// restart it; with serve (by hand) it stays up answering "model not ready".
    func testADaemonWhoseGPUFaultsSaysFailedAndExitsForARestartUnderTheUnitsPolicy() throws {
        for policy in [LoadFailurePolicy.serve, .exit] {
            let faulting = Locked(false)
            let launchFailure = CUDAError.driver(
                call: "cuLaunchKernel", code: 719, message: "unspecified launch failure")
            let queue = HookedQueue(try hostQueue(), beforeWork: failing(while: faulting, with: launchFailure))
            let engine = try engine(queues: [queue])
            let server = try TestDaemon(
                loader: { _ in engine },
                configure: {
                    $0.modelDirectory = TinyModel.directory
                    $0.onLoadFailure = policy
                })
            faulting.value = true
            let client = try server.client()
            XCTAssertThrowsError(try client.call(Method.predict, params: TestDaemon.predictParams(["a cat"]))) {
                XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.internalError, "\(policy)")
            }
            switch policy {
            case .serve:
                let health = try server.health()
                XCTAssertEqual(health.state, .failed)
                XCTAssertTrue(health.detail?.contains("launch failure") ?? false, "\(health)")
                XCTAssertThrowsError(try client.call(Method.predict, params: TestDaemon.predictParams(["a cat"]))) {
                    XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.modelNotReady)
                }
            case .exit:
                let status = Locked<Int32?>(nil)
                let stopped = DispatchSemaphore(value: 0)
                Thread {
                    let code = server.daemon.wait()
                    status.update { $0 = code }
                    stopped.signal()
                }.start()
                XCTAssertEqual(stopped.wait(timeout: .now() + 30), .success, "the daemon did not stop")
                XCTAssertEqual(status.value, 1)
            }
        }
    }
}

// The daemon over a real socket: answers, pipelining, concurrency, limits and malformed input.
import FixtureSupport
import Foundation
import OFAServer
import OFAWire
import XCTest

final class DaemonProtocolTests: XCTestCase {
    func testPredictAnswersEveryHypothesisInOrder() throws {
        let server = try TestDaemon()
        let hypotheses = ["a cat on a sofa", "a dog in a park", "a picture"]
        let result = try server.client().call(
            Method.predict, TestDaemon.predictParams(hypotheses, premise: "indoors"),
            as: PredictResult.self)
        XCTAssertEqual(result.predictions.map(\.hypothesis), hypotheses)
        XCTAssertEqual(result.predictions.map(\.answer), ["yes", "no", "maybe"])
        XCTAssertEqual(result.predictions.map(\.label), ["entailment", "contradiction", "neutral"])
        for prediction in result.predictions {
            XCTAssertEqual(Set(prediction.probabilities.keys), ["yes", "no", "maybe"])
            XCTAssertEqual(prediction.probabilities.values.reduce(0, +), 1, accuracy: 1e-5)
        }
        XCTAssertGreaterThanOrEqual(result.timings.totalMs, result.timings.modelMs)
    }

    func testAttentionReturnsFloatArraysWithShapeGridAndTokens() throws {
        let server = try TestDaemon()
        let params = AttentionParams(
            image: ImageInput(bytes: TestDaemon.image), hypothesis: "a cat",
            attention: AttentionSelection(kinds: [.cross, .encoder], layers: [3], headMean: true))
        let result = try server.client().call(Method.attention, params, as: AttentionResult.self)
        XCTAssertEqual(result.prediction.answer, "yes")
        XCTAssertEqual(result.maps.map(\.kind), [.cross, .encoder])
        XCTAssertEqual(result.maps[0].values.shape, [1, 3, 6])
        XCTAssertEqual(result.maps[0].values.values.count, 18)
        XCTAssertEqual(result.maps[0].values.values[5], 0.5)
        XCTAssertEqual(result.maps[0].patchGrid, PatchGridSize(rows: 2, cols: 2))
        XCTAssertEqual(result.maps[0].keyTokens.count, 6)
    }

    func testPipelinedRequestsOnOneConnectionEachGetOneResponseWithTheirId() throws {
        let server = try TestDaemon()
        let client = try server.client()
        let count = 200
        var frames: [UInt8] = []
        for index in 0..<count {
            let method = index % 3 == 0 ? Method.health : Method.predict
            let params: JSONValue? = method == Method.predict ? TestDaemon.predictParams(["cat \(index)"]) : nil
            frames += FrameCoder.encode(
                RPCRequest(id: .string("r\(index)"), method: method, params: params).json.serialized())
        }
        try client.sendRaw(frames)
        var seen: [String: RPCResponse] = [:]
        for _ in 0..<count {
            let response = try client.receive()
            let id = try XCTUnwrap(response.id.stringValue)
            XCTAssertNil(seen[id], "duplicate response for \(id)")
            seen[id] = response
        }
        XCTAssertEqual(seen.count, count)
        for index in stride(from: 1, to: count, by: 3) {
            let result = try XCTUnwrap(seen["r\(index)"]).get().decode(PredictResult.self)
            XCTAssertEqual(result.predictions.first?.hypothesis, "cat \(index)")
        }
    }

    func testDozensOfConcurrentClientsAllGetCorrectAnswers() throws {
        let server = try TestDaemon { $0.workers = 2 }
        let failures = NSLock()
        var problems: [String] = []
        runConcurrently(48) { clientIndex, ready in
            do {
                let client = try server.client()
                ready()
                for request in 0..<8 {
                    let hypothesis = ["cat", "dog", "bird"][(clientIndex + request) % 3] + " \(clientIndex)-\(request)"
                    let result = try client.call(
                        Method.predict, TestDaemon.predictParams([hypothesis]),
                        as: PredictResult.self)
                    if result.predictions.first?.hypothesis != hypothesis
                        || result.predictions.first?.answer != FakeEngine.expectedAnswer(hypothesis)
                    {
                        failures.withLock { problems.append("wrong answer for \(hypothesis)") }
                    }
                }
            } catch {
                failures.withLock { problems.append("client \(clientIndex): \(error)") }
            }
        }
        XCTAssertEqual(problems, [])
        let status = try server.client().call(Method.status, as: StatusResult.self)
        XCTAssertEqual(status.latency[Method.predict]?.count, 48 * 8)
    }

    func testManyHypothesesAboutOneImageRunTheImageBackboneOnce() throws {
        let server = try TestDaemon()
        let client = try server.client()
        for index in 0..<10 {
            let result = try client.call(
                Method.predict, TestDaemon.predictParams(["cat \(index)"]), as: PredictResult.self)
            XCTAssertEqual(result.timings.imageCached, index > 0)
        }
        // One prepareImage for the warm-up image, one for the test image.
        XCTAssertEqual(server.engine.counts.prepare, 2)
        // A repeated hypothesis is answered from the result cache without calling predict again.
        let before = server.engine.counts.predict
        _ = try client.call(Method.predict, TestDaemon.predictParams(["cat 3"]), as: PredictResult.self)
        XCTAssertEqual(server.engine.counts.predict, before)
        let status = try client.call(Method.status, as: StatusResult.self)
        XCTAssertEqual(status.imageCache.hits, 9)
        XCTAssertEqual(status.resultCache.hits, 1)
    }

    func testAFullQueueAnswersBusyAtOnce() throws {
        let gate = DispatchSemaphore(value: 0)
        let engine = FakeEngine()
        let server = try TestDaemon(engine: engine) { $0.queueCapacity = 2 }
        engine.gateAfterWarmUp = gate
        defer { for _ in 0..<10 { gate.signal() } }
        let client = try server.client()
        // One runs (blocked), two wait, the fourth finds the queue full.
        func send(_ index: Int64) throws {
            try client.send(
                RPCRequest(
                    id: .integer(index), method: Method.predict,
                    params: TestDaemon.predictParams(["cat \(index)"])))
        }
        let warmUpCalls = engine.counts.predict
        try send(0)
        XCTAssertTrue(waitUntil { engine.counts.predict > warmUpCalls })
        for index in 1...3 { try send(Int64(index)) }
        let started = Date()
        let busy = try client.receive()
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
        XCTAssertEqual(busy.id, 3)
        XCTAssertEqual(busy.error?.code, RPCErrorCode.serverBusy)
        // Health is answered while the engine is blocked.
        XCTAssertEqual(try server.health().state, .ready)
        for _ in 0..<3 { gate.signal() }
        var answered = Set<JSONValue>()
        for _ in 0..<3 { answered.insert(try client.receive().id) }
        XCTAssertEqual(answered, [0, 1, 2])
    }

    func testARequestThatRunsPastTheTimeoutIsAnsweredTimedOut() throws {
        let engine = FakeEngine()
        let server = try TestDaemon(engine: engine) { $0.requestTimeoutSeconds = 0.3 }
        engine.delay = 1
        let started = Date()
        XCTAssertThrowsError(try server.client().call(Method.predict, params: TestDaemon.predictParams(["cat"]))) {
            XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.timedOut)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.9)
        engine.delay = 0
        Thread.sleep(forTimeInterval: 0.8)
        XCTAssertNoThrow(try server.client().call(Method.predict, params: TestDaemon.predictParams(["cat"])))
    }

    func testAClientThatDisconnectsCancelsItsQueuedWork() throws {
        let gate = DispatchSemaphore(value: 0)
        let engine = FakeEngine()
        let server = try TestDaemon(engine: engine)
        engine.gateAfterWarmUp = gate
        let first = try server.client()
        let warmUpCalls = engine.counts.predict
        try first.send(RPCRequest(id: 1, method: Method.predict, params: TestDaemon.predictParams(["cat"])))
        XCTAssertTrue(waitUntil { engine.counts.predict > warmUpCalls })
        let predictsBefore = engine.counts.predict
        func queueDepth() -> Int? { try? server.client().call(Method.status, as: StatusResult.self).queueDepth }
        do {
            let leaver = try server.client()
            for index in 0..<5 {
                try leaver.send(
                    RPCRequest(
                        id: .integer(Int64(index)), method: Method.predict,
                        params: TestDaemon.predictParams(["dog \(index)"])))
            }
            XCTAssertTrue(waitUntil { queueDepth() == 5 })
        }  // leaver closes here
        XCTAssertTrue(waitUntil { queueDepth() == 0 })
        gate.signal()
        XCTAssertEqual(try first.receive().id, 1)
        XCTAssertEqual(engine.counts.predict, predictsBefore)
        engine.gateAfterWarmUp = nil
    }

    func testTooManyConnectionsAreRefusedWithBusyAndOthersUnaffected() throws {
        let server = try TestDaemon { $0.maximumConnections = 2 }
        let a = try server.client()
        let b = try server.client()
        XCTAssertNoThrow(try a.call(Method.health))
        let c = try server.client()
        XCTAssertEqual(try c.receiveOrClose()?.error?.code, RPCErrorCode.serverBusy)
        XCTAssertNil(try c.receiveOrClose())
        XCTAssertNoThrow(try b.call(Method.health))
    }

    func testImagePathsAreReadOnlyUnderConfiguredRootsWithoutFollowingLinksOut() throws {
        let root = try makeTemporaryDirectory()
        let outside = try makeTemporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: outside)
        }
        FileManager.default.createFile(atPath: root + "/in.png", contents: Data(TestDaemon.image))
        FileManager.default.createFile(atPath: outside + "/secret.png", contents: Data(TestDaemon.image))
        try FileManager.default.createSymbolicLink(
            atPath: root + "/link.png", withDestinationPath: outside + "/secret.png")
        func predict(_ server: TestDaemon, _ path: String) throws -> JSONValue {
            try server.client().call(
                Method.predict,
                params: JSONValue(
                    encoding: PredictParams(
                        image: ImageInput(path: path), hypotheses: ["cat"])))
        }
        let closed = try TestDaemon()
        XCTAssertThrowsError(try predict(closed, root + "/in.png")) {
            XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.imageNotReadable)
        }
        let open = try TestDaemon { $0.imageRoots = [root] }
        XCTAssertNoThrow(try predict(open, root + "/in.png"))
        for refused in [root + "/link.png", outside + "/secret.png", root + "/../" + outside + "/secret.png", "in.png"]
        {
            XCTAssertThrowsError(try predict(open, refused), refused) {
                XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.imageNotReadable, refused)
            }
        }
    }

    func testStatusAndMetricsDescribeTheDaemon() throws {
        let server = try TestDaemon()
        let client = try server.client()
        _ = try client.call(Method.predict, params: TestDaemon.predictParams(["cat"]))
        _ = try? client.call("nonsense")
        let status = try client.call(Method.status, as: StatusResult.self)
        XCTAssertEqual(status.state, .ready)
        XCTAssertEqual(status.architecture, "fake")
        // Served counts every answered request (the health checks while starting included).
        XCTAssertGreaterThanOrEqual(status.requestsServed, 2)
        XCTAssertEqual(status.requestsFailed, 1)
        XCTAssertEqual(status.version, RequestDispatcher.version)
        let text = try client.call(Method.metrics, as: MetricsResult.self).text
        XCTAssertTrue(text.contains("ofad_requests_total{method=\"predict\",outcome=\"ok\"} 1"), text)
        XCTAssertTrue(text.contains("ofad_requests_total{method=\"other\",outcome=\"-32601\"} 1"), text)
        XCTAssertTrue(text.contains("ofad_request_duration_seconds_bucket{method=\"predict\",le=\"+Inf\"} 1"), text)
        XCTAssertTrue(text.contains("ofad_up 1"), text)
        // Every sample line is "name{labels} value" or "name value".
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            XCTAssertEqual(line.split(separator: " ").count, 2, String(line))
        }
        XCTAssertNil(status.gpu, "no GPU on the CPU")
        XCTAssertFalse(text.contains("ofad_gpu_"), text)
        XCTAssertNil(status.closeCalls, "no close calls in fp32")
        XCTAssertFalse(text.contains("ofad_close_calls"), text)
        XCTAssertEqual(try client.call(Method.health, as: HealthResult.self).device, "cpu")
    }

    func testInBFloat16StatusAndMetricsCountTheCloseCalls() throws {
        let engine = FakeEngine()
        engine.closeCalls = 3
        let server = try TestDaemon(engine: engine)
        let client = try server.client()
        XCTAssertEqual(try client.call(Method.status, as: StatusResult.self).closeCalls, 3)
        guard case .object(let members) = try client.call(Method.status) else { return XCTFail("status") }
        XCTAssertEqual(members["close_calls"], .integer(3))
        let text = try client.call(Method.metrics, as: MetricsResult.self).text
        XCTAssertTrue(text.contains("# TYPE ofad_close_calls_total counter\nofad_close_calls_total 3"), text)
    }

    func testOnAGPUStatusHealthAndMetricsReportTheDeviceItsLibrariesAndMemory() throws {
        let engine = FakeEngine()
        let gpu = GPUStatus(
            ordinal: 0, name: "NVIDIA H200", computeCapability: "9.0", architecture: "sm_90", driverVersion: "13.0",
            blasVersion: "13.1.0", compilerVersion: "13.5", modelBytes: 2_000_000_000, usedBytes: 2_600_000_000,
            totalBytes: 150_000_000_000)
        engine.gpu = gpu
        let server = try TestDaemon(engine: engine)
        let client = try server.client()
        let status = try client.call(Method.status, as: StatusResult.self)
        XCTAssertEqual(status.gpu, gpu)
        XCTAssertEqual(status.device, "cuda:0 NVIDIA H200")
        XCTAssertEqual(try client.call(Method.health, as: HealthResult.self).device, "cuda:0 NVIDIA H200")
        let text = try client.call(Method.metrics, as: MetricsResult.self).text
        XCTAssertTrue(text.contains("ofad_gpu_model_bytes 2000000000"), text)
        XCTAssertTrue(text.contains("ofad_gpu_memory_used_bytes 2600000000"), text)
        XCTAssertTrue(text.contains("ofad_gpu_memory_total_bytes 150000000000"), text)
        // In status's JSON, the documented names.
        let raw = try client.call(Method.status)
        guard case .object(let members) = raw, case .object(let device)? = members["gpu"] else {
            return XCTFail("\(raw)")
        }
        XCTAssertEqual(
            Set(device.keys),
            [
                "ordinal", "name", "compute_capability", "architecture", "driver_version", "cublas_version",
                "nvrtc_version", "model_bytes", "used_bytes", "total_bytes",
            ])
    }
}

/// Polls `condition` until it holds or `timeout` seconds pass.
func waitUntil(timeout: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date(timeIntervalSinceNow: timeout)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.005)
    }
    return condition()
}

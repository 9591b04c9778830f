// Loading, readiness, systemd notifications, the watchdog and draining on shutdown.
import Foundation
import OFAServer
import OFAWire
import XCTest

final class DaemonLifecycleTests: XCTestCase {
    func testHealthSaysLoadingUntilTheWarmUpForwardHasAnswered() throws {
        let release = DispatchSemaphore(value: 0)
        let engine = FakeEngine()
        let server = try TestDaemon(
            engine: engine,
            loader: { _ in
                release.wait()
                return engine
            }, waitUntilReady: false)
        XCTAssertEqual(try server.health().state, .loading)
        XCTAssertThrowsError(try server.client().call(Method.predict, params: TestDaemon.predictParams(["cat"]))) {
            XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.modelNotReady)
        }
        release.signal()
        try server.waitForState(.ready)
        XCTAssertEqual(engine.counts.predict, 1, "one warm-up forward before ready")
    }

    func testAModelThatFailsToLoadIsReportedAsFailedWithTheReason() throws {
        let server = try TestDaemon(
            loader: { _ in throw EngineError.unavailable("no weights here") },
            waitUntilReady: false)
        try server.waitForState(.failed)
        XCTAssertTrue(try server.health().detail?.contains("no weights here") ?? false)
        XCTAssertThrowsError(try server.client().call(Method.predict, params: TestDaemon.predictParams(["cat"])))
    }

    func testSystemdHearsStatusThenReadyThenWatchdogThenStopping() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let listener = try NotifyListener(path: directory + "/notify")
        let server = try TestDaemon(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "200000"])
        var messages = listener.collect(for: 5, until: "READY=1")
        messages += listener.collect(for: 0.5)
        let readyIndex = try XCTUnwrap(messages.firstIndex { $0.contains("READY=1") })
        XCTAssertTrue(messages[..<readyIndex].contains { $0.hasPrefix("STATUS=Loading") }, "\(messages)")
        XCTAssertGreaterThanOrEqual(messages.filter { $0 == "WATCHDOG=1" }.count, 2, "\(messages)")
        server.daemon.shutdown()
        XCTAssertTrue(listener.collect(for: 2, until: "STOPPING=1").contains { $0.contains("STOPPING=1") })
    }

    func testNotificationsReachAnAbstractNotifySocket() throws {
        let name = "@ofad-test-\(UUID().uuidString.prefix(8))"
        let listener = try NotifyListener(path: name)
        try withProcessEnvironment(["NOTIFY_SOCKET": name]) {
            XCTAssertTrue(try SystemdNotifier().notify("STATUS=hello"))
        }
        XCTAssertEqual(listener.collect(for: 1, until: "hello"), ["STATUS=hello"])
    }

    func testWithoutANotifySocketNothingIsSentAndNothingFails() throws {
        try withProcessEnvironment(["NOTIFY_SOCKET": nil]) {
            XCTAssertFalse(try SystemdNotifier().notify("READY=1"))
        }
    }

    func testAnUnusableNotifySocketIsATypedError() throws {
        try withProcessEnvironment(["NOTIFY_SOCKET": "relative/not-a-socket"]) {
            XCTAssertThrowsError(try SystemdNotifier().notify("READY=1")) {
                XCTAssertEqual($0 as? SystemdError, .notifyFailed(errno: EINVAL))
            }
        }
    }

    func testTheWatchdogIntervalIsReadOnlyWhenMeantForThisProcess() throws {
        try withProcessEnvironment(["WATCHDOG_USEC": "250000", "WATCHDOG_PID": "\(getpid())"]) {
            XCTAssertEqual(SystemdNotifier().watchdogInterval, 0.25)
        }
        try withProcessEnvironment(["WATCHDOG_USEC": "250000", "WATCHDOG_PID": "1"]) {
            XCTAssertNil(SystemdNotifier().watchdogInterval)
        }
        try withProcessEnvironment(["WATCHDOG_USEC": "0"]) {
            XCTAssertNil(SystemdNotifier().watchdogInterval)
        }
    }

    func testSocketsActivatedForAnotherProcessAreIgnoredAndTheVariablesRemoved() throws {
        try withProcessEnvironment(["LISTEN_PID": "1", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "ofad.socket"]) {
            XCTAssertEqual(try SystemdNotifier.activatedSockets(), [])
            for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
                XCTAssertNil(getenv(name), "\(name) removed")
            }
        }
    }

    func testReadyIsNeverSentWhenTheModelFailsToLoad() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let listener = try NotifyListener(path: directory + "/notify")
        let server = try TestDaemon(
            environment: ["NOTIFY_SOCKET": listener.path],
            loader: { _ in throw EngineError.unavailable("broken") }, waitUntilReady: false)
        let messages = listener.collect(for: 2, until: "failed to load")
        XCTAssertFalse(messages.contains { $0.contains("READY=1") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.contains("STATUS=Model failed to load") }, "\(messages)")
        withExtendedLifetime(server) {}
    }

    func testAHungEngineStopsTheWatchdogPings() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let listener = try NotifyListener(path: directory + "/notify")
        let gate = DispatchSemaphore(value: 0)
        let engine = FakeEngine()
        let server = try TestDaemon(
            engine: engine,
            environment: [
                "NOTIFY_SOCKET": listener.path,
                "WATCHDOG_USEC": "100000",
            ]
        ) {
            $0.requestTimeoutSeconds = 0.2
            $0.drainTimeoutSeconds = 0.2
        }
        _ = listener.collect(for: 0.3)
        engine.gateAfterWarmUp = gate
        defer { gate.signal() }
        let warmUpCalls = engine.counts.predict
        let client = try server.client()
        try client.send(RPCRequest(id: 1, method: Method.predict, params: TestDaemon.predictParams(["cat"])))
        XCTAssertTrue(waitUntil { engine.counts.predict > warmUpCalls }, "the engine call started")
        // After twice the request timeout (0.4 s) the engine counts as hung: no more pings.
        Thread.sleep(forTimeInterval: 0.7)
        _ = listener.collect(for: 0.1)
        let later = listener.collect(for: 0.5)
        XCTAssertFalse(later.contains("WATCHDOG=1"), "\(later)")
    }

    func testShutdownDrainsInFlightRequestsSoNoneIsLost() throws {
        let engine = FakeEngine()
        let server = try TestDaemon(engine: engine)
        engine.delay = 0.15
        let client = try server.client()
        for index in 0..<4 {
            try client.send(
                RPCRequest(
                    id: .integer(Int64(index)), method: Method.predict,
                    params: TestDaemon.predictParams(["cat \(index)"])))
        }
        // All four arrived: one running, three queued.
        let queue = server.daemon.dispatcher.queue
        XCTAssertTrue(waitUntil { queue.running + queue.depth == 4 })
        let done = DispatchSemaphore(value: 0)
        Thread {
            server.daemon.shutdown()
            done.signal()
        }.start()
        var answered: [JSONValue: RPCResponse] = [:]
        while let response = try client.receiveOrClose() { answered[response.id] = response }
        XCTAssertEqual(Set(answered.keys), [0, 1, 2, 3])
        XCTAssertTrue(answered.values.allSatisfy { $0.error == nil }, "\(answered)")
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(server.daemon.wait(), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.socketPath), "socket file removed")
    }

    func testShutdownAnswersWhatCannotFinishWithinTheDrainBound() throws {
        let gate = DispatchSemaphore(value: 0)
        let engine = FakeEngine()
        let server = try TestDaemon(engine: engine) { $0.drainTimeoutSeconds = 0.3 }
        engine.gateAfterWarmUp = gate
        defer { for _ in 0..<3 { gate.signal() } }
        let client = try server.client()
        for index in 0..<3 {
            try client.send(
                RPCRequest(
                    id: .integer(Int64(index)), method: Method.predict,
                    params: TestDaemon.predictParams(["cat \(index)"])))
        }
        let queue = server.daemon.dispatcher.queue
        XCTAssertTrue(waitUntil { queue.running + queue.depth == 3 })
        Thread { server.daemon.shutdown() }.start()
        var codes: [JSONValue: Int] = [:]
        while let response = try client.receiveOrClose() { codes[response.id] = response.error?.code }
        XCTAssertEqual(
            codes, [0: RPCErrorCode.shuttingDown, 1: RPCErrorCode.shuttingDown, 2: RPCErrorCode.shuttingDown])
    }

    func testAStaleSocketFileIsReplacedButALiveOneIsNot() throws {
        let first = try TestDaemon()
        XCTAssertThrowsError(try TestDaemon { $0.socketPath = first.socketPath }) {
            XCTAssertTrue("\($0)".contains("already listening"), "\($0)")
        }
        XCTAssertEqual(try first.health().state, .ready)
    }
}

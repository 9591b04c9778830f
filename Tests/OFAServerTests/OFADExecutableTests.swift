// The ofad executable itself on the tiny-a model: options, socket activation through systemd-socket-activate,
// notify, and SIGTERM with work in flight.
import Foundation
import OFAWire
import XCTest

final class OFADExecutableTests: XCTestCase {
    func testCudaWithoutItsLibrariesIsRefusedAtStartNamingWhatIsMissingAndWhereItLooked() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = try runProcess(
            try executable("ofad"),
            ["--device", "cuda", "--cuda-library-path", directory, "--socket", directory + "/s.sock"], timeout: 30)
        XCTAssertEqual(output.status, 1)
        XCTAssertTrue(
            output.stderr.contains("CUDA driver library not found; searched \(directory)/libcuda.so.1, libcuda.so.1"),
            output.stderr)
    }

    func testALoadFailureExitsWithStatusOneWhenAskedTo() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = try runProcess(
            try executable("ofad"),
            [
                "--socket", directory + "/s.sock", "--on-load-failure", "exit",
                "--model-dir", directory,
            ], timeout: 30)
        XCTAssertEqual(output.status, 1, output.stderr)
        XCTAssertTrue(output.stderr.contains("model failed to load"), output.stderr)
    }

    func testASocketPassedBySystemdIsServedUnderItsNameAndSIGTERMExitsCleanly() throws {
        let activate = try requireTool("systemd-socket-activate")
        let ofad = try executable("ofad")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/activated.sock"
        let listener = try NotifyListener(path: directory + "/notify")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: activate)
        process.arguments = [
            "-l", socketPath, "--fdname=ofad-test", "-E", "NOTIFY_SOCKET=\(listener.path)", "--", ofad,
            "--model-dir", TinyModel.directory, "--threads", "1", "--socket", directory + "/unused.sock",
        ]
        let logPath = directory + "/ofad.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
        defer { if process.isRunning { process.interrupt() } }
        // No other child process while this one runs: systemd-socket-activate closes the descriptor through which
        // Foundation's Process notices an exit, and its blocking waitpid would then hold up every other Process.
        let client = try XCTUnwrap(waitForReady(socketPath), "ofad became ready on the activated socket")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/unused.sock"), "ofad bound its own socket")
        let started = listener.collect(for: 5, until: "READY=1")
        XCTAssertTrue(started.contains { $0.hasPrefix("STATUS=Loading model") }, "\(started)")
        XCTAssertTrue(started.contains { $0.hasPrefix("READY=1") }, "\(started)")
        let image = TinyModel.image("scene-160x120.png")
        let result = try client.call(
            Method.predict, TestDaemon.predictParams(["two birds"], image: image), as: PredictResult.self)
        XCTAssertEqual(result.predictions, try TinyModel.expected(image, ["two birds"]))
        process.terminate()
        let stopping = listener.collect(for: 5, until: "STOPPING=1")
        XCTAssertTrue(stopping.contains { $0.contains("STOPPING=1") }, "\(stopping)")
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
        let log = try String(contentsOfFile: logPath, encoding: .utf8)
        XCTAssertTrue(log.contains("serving a socket passed by systemd") && log.contains("ofad-test"), log)
    }

    func testSIGTERMWithRequestsInFlightAnswersEveryOneBeforeExiting() throws {
        let ofad = try executable("ofad")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/ofad.sock"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ofad)
        process.arguments = ["--model-dir", TinyModel.directory, "--threads", "1", "--socket", socketPath]
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.interrupt() } }
        XCTAssertNotNil(waitForReady(socketPath), "ofad became ready")

        // Three connections, four requests each, every one on its own image so none is answered from a cache.
        let images = (0..<12).map { index in
            grayPNG(width: 48, height: 40) { x, y in UInt8(truncatingIfNeeded: x * (index + 3) + y * 7) }
        }
        var expected: [JSONValue: Prediction] = [:]
        for (index, image) in images.enumerated() {
            expected[.integer(Int64(index))] = try TinyModel.expected(image, ["picture \(index)"])[0]
        }
        let clients = try (0..<3).map { _ in try WireClient(socketPath: socketPath) }
        for (index, image) in images.enumerated() {
            try clients[index % 3].send(
                RPCRequest(
                    id: .integer(Int64(index)), method: Method.predict,
                    params: TestDaemon.predictParams(["picture \(index)"], image: image)))
        }
        // Every request has arrived and most still wait (one worker) when SIGTERM comes.
        let observer = try WireClient(socketPath: socketPath)
        var waiting = 0
        XCTAssertTrue(
            waitUntil(timeout: 10) {
                guard let status = try? observer.call(Method.status, as: StatusResult.self) else { return false }
                waiting = status.queueDepth
                return status.queueDepth + (status.latency[Method.predict]?.count ?? 0) >= 11
            })
        process.terminate()
        XCTAssertGreaterThan(waiting, 0, "requests were still waiting when SIGTERM was sent")
        var answered: [JSONValue: RPCResponse] = [:]
        for client in clients {
            while let response = try client.receiveOrClose() { answered[response.id] = response }
        }
        XCTAssertEqual(Set(answered.keys), Set(expected.keys))
        for (id, response) in answered {
            XCTAssertNil(response.error, "request \(id)")
            XCTAssertEqual(try response.get().decode(PredictResult.self).predictions.first, expected[id], "\(id)")
        }
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath), "socket file removed")
    }

    func testSIGHUPIsLoggedAndIgnoredTheDaemonKeepsServingAndItsSocket() throws {
        let ofad = try executable("ofad")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/ofad.sock"
        let logPath = directory + "/ofad.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ofad)
        process.arguments = ["--model-dir", TinyModel.directory, "--threads", "1", "--socket", socketPath]
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
        defer { if process.isRunning { process.interrupt() } }
        let client = try XCTUnwrap(waitForReady(socketPath), "ofad became ready")
        for _ in 0..<3 { kill(process.processIdentifier, SIGHUP) }
        XCTAssertTrue(
            waitUntil(timeout: 10) {
                (try? String(contentsOfFile: logPath, encoding: .utf8))?.contains("SIGHUP ignored") == true
            })
        XCTAssertTrue(process.isRunning)
        XCTAssertEqual(try client.call(Method.health, as: HealthResult.self).state, .ready)
        XCTAssertTrue(FileManager.default.fileExists(atPath: socketPath))
        process.terminate()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
    }
}

/// A connection to the daemon at `socketPath` once it answers health "ready" (nil after 30 s).
private func waitForReady(_ socketPath: String) -> WireClient? {
    let deadline = Date(timeIntervalSinceNow: 30)
    while Date() < deadline {
        if let client = try? WireClient(socketPath: socketPath),
            (try? client.call(Method.health, as: HealthResult.self).state) == .ready
        {
            return client
        }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return nil
}

// The ofad executable itself: options, socket activation through systemd-socket-activate, notify and SIGTERM.
// Until the OFA pipeline lands, the real binary's model load fails, which these tests use on purpose.
import Foundation
import OFAWire
import XCTest

final class OFADExecutableTests: XCTestCase {
    func testCudaIsRefusedWithAClearMessage() throws {
        let output = try runProcess(try executable("ofad"), ["--device", "cuda", "--socket", "/tmp/unused.sock"])
        XCTAssertEqual(output.status, 64)
        XCTAssertTrue(output.stderr.contains("no GPU backend"), output.stderr)
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

    func testASocketPassedBySystemdIsServedAndSIGTERMExitsCleanly() throws {
        let activate = try requireTool("systemd-socket-activate")
        let ofad = try executable("ofad")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/activated.sock"
        let listener = try NotifyListener(path: directory + "/notify")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: activate)
        process.arguments = [
            "-l", socketPath, "-E", "NOTIFY_SOCKET=\(listener.path)", "--", ofad,
            "--model-dir", directory, "--on-load-failure", "serve", "--socket", directory + "/unused.sock",
        ]
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.interrupt() } }
        var client: WireClient?
        for _ in 0..<100 where client == nil {
            client = try? WireClient(socketPath: socketPath)
            if client == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        let health = try XCTUnwrap(client).call(Method.health, as: HealthResult.self)
        XCTAssertNotEqual(health.state, .ready, "the real engine is not built in yet")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/unused.sock"), "ofad bound its own socket")
        let started = listener.collect(for: 2, until: "failed to load")
        XCTAssertTrue(started.contains { $0.hasPrefix("STATUS=Loading model") }, "\(started)")
        XCTAssertFalse(started.contains { $0.contains("READY=1") }, "\(started)")
        process.terminate()
        let stopping = listener.collect(for: 5, until: "STOPPING=1")
        XCTAssertTrue(stopping.contains { $0.contains("STOPPING=1") }, "\(stopping)")
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
    }
}

final class SystemdUnitTests: XCTestCase {
    func testTheUnitsPassSystemdAnalyzeVerify() throws {
        let analyze = try requireTool("systemd-analyze")
        let ofad = try executable("ofad")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for unit in ["ofad.service", "ofad.socket"] {
            let text = try String(contentsOfFile: repositoryRoot + "/systemd/" + unit, encoding: .utf8)
            // verify wants ExecStart's binary to exist: point it at the one just built.
            try text.replacingOccurrences(of: "/usr/local/bin/ofad", with: ofad)
                .write(toFile: directory + "/" + unit, atomically: true, encoding: .utf8)
        }
        let verify = try runProcess(analyze, ["verify", directory + "/ofad.socket", directory + "/ofad.service"])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertEqual(verify.stderr, "", "verify had remarks")
        let security = try runProcess(
            analyze,
            [
                "security", "--offline=yes", "--threshold=20",
                directory + "/ofad.service",
            ])
        XCTAssertEqual(security.status, 0, security.stdout)
    }
}

// Abuse against a real ofad process (issue 12), with the bound each run must meet. Not a timed test: runs only with
// OFAD_BENCHMARK=1 and prints the figures for BENCHMARKS.md; OFAD_BINARY names the ofad to attack (a release build:
// swift build -c release --product ofad && OFAD_BENCHMARK=1 OFAD_BINARY=.build/release/ofad swift test --filter
// AbuseBenchmark). ofad serves the committed tiny-a model; its peak and current resident memory come from
// /proc/PID/status.
import FixtureSupport
import Foundation
import OFAServer
import OFAWire
import XCTest

final class AbuseBenchmark: XCTestCase {
    private var process: Process!
    private var directory = ""
    private var socketPath = ""

    override func setUpWithError() throws {
        guard ProcessInfo.processInfo.environment["OFAD_BENCHMARK"] == "1" else {
            throw XCTSkip("SKIPPED: benchmark; set OFAD_BENCHMARK=1")
        }
        directory = try makeTemporaryDirectory()
        socketPath = directory + "/ofad.sock"
        process = Process()
        let binary = try ProcessInfo.processInfo.environment["OFAD_BINARY"] ?? executable("ofad")
        process.executableURL = URL(fileURLWithPath: binary)
        print("ABUSE | ofad: \(binary)")
        process.arguments = [
            "--model-dir", TinyModel.directory, "--threads", "1", "--socket", socketPath, "--log-level", "error",
        ]
        try process.run()
        XCTAssertTrue(waitUntil(timeout: 30) { (try? self.health()) == .ready }, "ofad became ready")
    }

    override func tearDown() {
        if let process, process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func client() throws -> WireClient { try WireClient(socketPath: socketPath) }
    private func health() throws -> HealthState { try client().call(Method.health, as: HealthResult.self).state }

    /// VmRSS or VmHWM of ofad, in MiB.
    private func memory(_ field: String) -> Double { processMemoryMiB(process.processIdentifier, field) }

    private func report(_ line: String) { print("ABUSE | " + line) }

    func testFuzzedFramesLeaveTheDaemonHealthy() throws {
        var generator = SeededGenerator(seed: 2026)
        let valid = FrameCoder.encode(
            RPCRequest(id: 1, method: Method.predict, params: TestDaemon.predictParams(["a cat"])).json.serialized())
        var frames = 0
        let start = Date()
        for _ in 0..<2500 {
            let connection = try client()
            var bytes: [UInt8] = []
            for _ in 0..<40 {
                var frame = valid
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    let index = Int.random(in: 0..<frame.count, using: &generator)
                    frame[index] = UInt8.random(in: 0...255, using: &generator)
                }
                bytes += frame
                frames += 1
            }
            try? connection.sendRaw(bytes)
            connection.socket.finishWriting()
            while (try? connection.receiveOrClose()) ?? nil != nil {}
        }
        XCTAssertEqual(try health(), .ready)
        report(
            "fuzzed frames: \(frames) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s, daemon ready, "
                + "peak RSS \(Int(memory("VmHWM"))) MiB")
    }

    func testSixtyFourPipeliningClientsGetEveryIdAnsweredOnce() throws {
        let clients = 64
        let perClient = 1600
        let lock = NSLock()
        var answeredTwice = 0
        var missing = 0
        let start = Date()
        runConcurrently(clients) { index, ready in
            guard let connection = try? self.client() else { return lock.withLock { missing += perClient } }
            ready()
            var bytes: [UInt8] = []
            for n in 0..<perClient {
                let method = n % 4 == 0 ? Method.predict : Method.health
                let params = method == Method.predict ? TestDaemon.predictParams(["cat \(index) \(n)"]) : nil
                let id = JSONValue.integer(Int64(index * perClient + n))
                bytes += FrameCoder.encode(RPCRequest(id: id, method: method, params: params).json.serialized())
            }
            let writer = Thread { try? connection.sendRaw(bytes) }
            writer.start()
            var seen = Set<JSONValue>()
            var duplicates = 0
            while seen.count + duplicates < perClient, let response = try? connection.receive() {
                if !seen.insert(response.id).inserted { duplicates += 1 }
            }
            lock.withLock {
                answeredTwice += duplicates
                missing += perClient - seen.count
            }
        }
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(missing, 0)
        XCTAssertEqual(answeredTwice, 0)
        report(
            "pipelined: \(clients) clients × \(perClient) requests in \(String(format: "%.1f", seconds)) s, "
                + "\(missing) unanswered, \(answeredTwice) answered twice, peak RSS \(Int(memory("VmHWM"))) MiB")
    }

    func testAClientThatNeverReadsHoldsBoundedMemory() throws {
        let before = memory("VmRSS")
        let connection = try client()
        // Attention answers are large (every map as base64); the client sends for 15 s and reads nothing.
        let params = try JSONValue(
            encoding: AttentionParams(
                image: ImageInput(bytes: TestDaemon.image), hypothesis: "a cat",
                attention: AttentionSelection(kinds: [.encoder, .cross], layers: [0, 1])))
        let frame = FrameCoder.encode(RPCRequest(id: 1, method: Method.attention, params: params).json.serialized())
        let stop = Date(timeIntervalSinceNow: 15)
        var sent = 0
        let writer = Thread {
            while Date() < stop, (try? connection.sendRaw(frame)) != nil { sent += 1 }
        }
        writer.start()
        var peak = before
        while Date() < stop {
            peak = max(peak, memory("VmRSS"))
            Thread.sleep(forTimeInterval: 0.2)
        }
        connection.socket.interrupt()
        let bound = 160.0
        XCTAssertLessThan(peak - before, bound)
        XCTAssertEqual(try health(), .ready)
        report(
            "never-reading client: \(sent)+ attention requests written in 15 s, RSS \(Int(before)) → peak "
                + "\(Int(peak)) MiB (+\(Int(peak - before)), bound +\(Int(bound)) MiB)")
    }

    func testAHundredSevenMegabyteImagesAreNotHeldOnceAnswered() throws {
        // Noise hardly compresses: a 1900×1500 gray-noise PNG (stored as RGB) is ≈ 7 MB (9.4 MB as base64).
        var generator = SeededGenerator(seed: 7)
        let image = grayPNG(width: 1900, height: 1500) { _, _ in UInt8.random(in: 0...255, using: &generator) }
        let before = memory("VmRSS")
        let connection = try client()
        for n in 0..<100 {
            // A new hypothesis each time, so no answer comes from the result cache.
            _ = try? connection.call(Method.predict, params: TestDaemon.predictParams(["a cat \(n)"], image: image))
        }
        Thread.sleep(forTimeInterval: 1)
        let idle = memory("VmRSS")
        let bound = 200.0
        XCTAssertLessThan(idle - before, bound)
        report(
            "100 × \(String(format: "%.1f", Double(image.count) / 1e6)) MB images: RSS \(Int(before)) → \(Int(idle)) MiB idle after "
                + "(+\(Int(idle - before)), bound +\(Int(bound)) MiB), peak \(Int(memory("VmHWM"))) MiB")
    }
}

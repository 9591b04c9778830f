// Daemon throughput and latency with many concurrent clients; ofactl's overhead beyond model time.
// Not a timed test: runs only with OFAD_BENCHMARK=1 (best in release: swift test -c release) and prints figures
// for BENCHMARKS.md. The engine is the test fake, so "predict" measures the daemon's own cost per request.
import Foundation
import OFAServer
import OFAWire
import XCTest

final class DaemonBenchmark: XCTestCase {
    override func setUpWithError() throws {
        guard ProcessInfo.processInfo.environment["OFAD_BENCHMARK"] == "1" else {
            throw XCTSkip("SKIPPED: benchmark; set OFAD_BENCHMARK=1")
        }
    }

    private func measure(
        _ server: TestDaemon, clients: Int, requestsPerClient: Int, method: String,
        params: JSONValue?
    ) throws -> String {
        let lock = NSLock()
        var latencies: [Double] = []
        var errors = 0
        let started = Date()
        runConcurrently(clients) { _, ready in
            guard let client = try? server.client() else { return lock.withLock { errors += requestsPerClient } }
            ready()
            var mine: [Double] = []
            for _ in 0..<requestsPerClient {
                let start = DispatchTime.now().uptimeNanoseconds
                if (try? client.call(method, params: params)) == nil { lock.withLock { errors += 1 } }
                mine.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            lock.withLock { latencies += mine }
        }
        let seconds = Date().timeIntervalSince(started)
        latencies.sort()
        func p(_ q: Double) -> Double { latencies[min(latencies.count - 1, Int(q * Double(latencies.count)))] }
        return String(
            format: "%@ clients=%d requests=%d errors=%d  %.0f req/s  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms",
            method, clients, latencies.count, errors, Double(latencies.count) / seconds, p(0.5), p(0.9),
            p(0.99))
    }

    func testThroughputAndLatencyUnderConcurrentClients() throws {
        let server = try TestDaemon {
            $0.workers = 2
            $0.queueCapacity = 1024
        }
        // Distinct hypotheses so the result cache does not answer; the image features are cached after the first.
        var lines: [String] = []
        for clients in [1, 16, 64] {
            lines.append(
                try measure(
                    server, clients: clients, requestsPerClient: 4000 / clients, method: Method.health,
                    params: nil))
        }
        for clients in [1, 16, 64] {
            lines.append(
                try measure(
                    server, clients: clients, requestsPerClient: 2000 / clients, method: Method.predict,
                    params: TestDaemon.predictParams(["a cat \(UUID())"])))
        }
        print("DAEMON BENCHMARK\n" + lines.joined(separator: "\n"))
    }

    func testOfactlOverheadBeyondModelTime() throws {
        let ofactl = try executable("ofactl")
        let server = try TestDaemon()
        let image = server.directory + "/bench.png"
        FileManager.default.createFile(atPath: image, contents: Data(TestDaemon.image))
        var overheads: [Double] = []
        for index in 0..<30 {
            let start = Date()
            let output = try runProcess(
                ofactl, ["predict", "--json", "--socket", server.socketPath, image, "cat \(index)"])
            let wall = Date().timeIntervalSince(start) * 1000
            let result = try JSONValue(parsing: Array(output.stdout.utf8)).decode(PredictResult.self)
            overheads.append(wall - result.timings.totalMs)
        }
        overheads.sort()
        print(
            String(
                format:
                    "OFACTL OVERHEAD wall minus daemon total_ms over 30 runs: p50 %.1f ms  p90 %.1f ms  min %.1f ms",
                overheads[15], overheads[27], overheads[0]))
    }
}

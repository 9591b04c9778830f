// Daemon throughput and latency with many concurrent clients; ofactl's overhead beyond model time.
// Not a timed test: runs only with OFAD_BENCHMARK=1 (best in release: swift test -c release) and prints figures
// for BENCHMARKS.md. The tiny-a rows run the real engine; the fake-engine rows measure the daemon's own cost.
import FixtureSupport
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

    /// Requests handed out so far, so that no two requests of a run share `n`.
    private var requestsIssued = 0

    /// `clients` connections at once, each sending `requestsPerClient` requests one after another; each request
    /// gets `params(n)` with an `n` no other request of the run has.
    private func measure(
        _ label: String, _ server: TestDaemon, clients: Int, requestsPerClient: Int, method: String,
        params: @escaping (Int) -> JSONValue? = { _ in nil }
    ) throws -> String {
        let lock = NSLock()
        var latencies: [Double] = []
        var errors = 0
        let base = requestsIssued
        requestsIssued += clients * requestsPerClient
        let started = Date()
        runConcurrently(clients) { clientIndex, ready in
            guard let client = try? server.client() else { return lock.withLock { errors += requestsPerClient } }
            ready()
            var mine: [Double] = []
            for request in 0..<requestsPerClient {
                let parameters = params(base + clientIndex * requestsPerClient + request)
                let start = DispatchTime.now().uptimeNanoseconds
                if (try? client.call(method, params: parameters)) == nil { lock.withLock { errors += 1 } }
                mine.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            lock.withLock { latencies += mine }
        }
        let seconds = Date().timeIntervalSince(started)
        latencies.sort()
        func p(_ q: Double) -> Double { latencies[min(latencies.count - 1, Int(q * Double(latencies.count)))] }
        return String(
            format: "%@ | %@ | %d | %d | %d | %.0f | %.2f | %.2f | %.2f",
            label, method, clients, latencies.count, errors, Double(latencies.count) / seconds, p(0.5), p(0.9),
            p(0.99))
    }

    func testTinyModelThroughputAndLatencyUnderConcurrentClients() throws {
        // Distinct hypotheses, so the result cache never answers. "one image": after the first request the image
        // features come from the cache (text, encoder and decoder per request). "new images": every request
        // brings an image the cache has not seen (decode, resize, ResNet, then the rest).
        let images = (0..<640).map { index in
            grayPNG(width: 160, height: 120) { x, y in UInt8(truncatingIfNeeded: x * (index % 7 + 1) + y * index) }
        }
        var lines = [
            "engine, workers×threads | method | clients | requests | errors | req/s | p50 ms | p90 ms | p99 ms"
        ]
        for (workers, threads) in [(1, 2), (2, 1)] {
            let server = try TestDaemon.tinyModel {
                $0.workers = workers
                $0.threads = threads
                $0.queueCapacity = 1024
            }
            let label = "tiny-a \(workers)×\(threads)"
            for clients in [1, 16, 64] {
                lines.append(
                    try measure(
                        label + " one image", server, clients: clients, requestsPerClient: 1280 / clients,
                        method: Method.predict,
                        params: { TestDaemon.predictParams(["a cat number \($0)"], image: images[0]) }))
            }
            for clients in [1, 16, 64] {
                lines.append(
                    try measure(
                        label + " new images", server, clients: clients, requestsPerClient: 320 / clients,
                        method: Method.predict,
                        params: { TestDaemon.predictParams(["a cat number \($0)"], image: images[$0 % 640]) }))
            }
        }
        print("DAEMON BENCHMARK (tiny-a)\n" + lines.joined(separator: "\n"))
    }

    func testFakeEngineThroughputAndLatencyUnderConcurrentClients() throws {
        let server = try TestDaemon {
            $0.workers = 2
            $0.queueCapacity = 1024
        }
        // The fake answers at once: what is left is framing, JSON, queueing, caches and the event loop.
        var lines: [String] = []
        for clients in [1, 16, 64] {
            lines.append(
                try measure(
                    "fake 2 workers", server, clients: clients, requestsPerClient: 4000 / clients,
                    method: Method.health))
        }
        for clients in [1, 16, 64] {
            lines.append(
                try measure(
                    "fake 2 workers", server, clients: clients, requestsPerClient: 2000 / clients,
                    method: Method.predict, params: { TestDaemon.predictParams(["a cat \($0)"]) }))
        }
        print("DAEMON BENCHMARK (fake engine)\n" + lines.joined(separator: "\n"))
    }

    func testOfactlOverheadBeyondModelTime() throws {
        let ofactl = try executable("ofactl")
        let server = try TestDaemon.tinyModel()
        let image = server.directory + "/bench.jpg"
        FileManager.default.createFile(atPath: image, contents: Data(TinyModel.image("photo-200x150.jpg")))
        var overheads: [Double] = []
        var totals: [Double] = []
        for index in 0..<30 {
            let start = Date()
            let output = try runProcess(
                ofactl, ["predict", "--json", "--socket", server.socketPath, image, "cat \(index)"])
            let wall = Date().timeIntervalSince(start) * 1000
            let result = try JSONValue(parsing: Array(output.stdout.utf8)).decode(PredictResult.self)
            overheads.append(wall - result.timings.totalMs)
            totals.append(result.timings.totalMs)
        }
        overheads.sort()
        print(
            String(
                format:
                    "OFACTL OVERHEAD (tiny-a) wall minus daemon total_ms over 30 runs: p50 %.1f ms  p90 %.1f ms  "
                    + "min %.1f ms; daemon total_ms p50 %.1f ms",
                overheads[15], overheads[27], overheads[0], totals.sorted()[15]))
    }
}

// The daemon end to end, for the device check (one binary carries everything to the GPU machine): `serve` runs ofad's
// daemon from the OFAD_* environment, and `bench-daemon` drives it over its socket as ofactl does (the same frames and
// JSON): load-to-READY, predict on new images one at a time, then many clients at once, and status's memory figures.
import Foundation
import ImageIO
import Logging
import OFAServer
import OFAWire

enum DaemonBenchmark {
    /// ofad, configured from the environment only.
    static func serve() throws -> Int32 {
        let configuration = try DaemonConfiguration.resolve(environment: ProcessInfo.processInfo.environment)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
            return handler
        }
        return try Daemon(configuration: configuration, loader: PipelineEngine.loader, logger: Logger(label: "ofad"))
            .run()
    }

    struct Result: Codable {
        var loadToReadySeconds: Double
        var sequential: [Double] = []
        var sequentialMedianMilliseconds = 0.0
        var concurrentClients = 0
        var concurrentRequests = 0
        var concurrentSeconds = 0.0
        var requestsPerSecond = 0.0
        var status: StatusResult?
    }

    /// A new 640 × 480 PNG of noise for query `index`, so no cache can answer it.
    static func image(_ index: Int) throws -> [UInt8] {
        var state = UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        let pixels = (0..<(640 * 480 * 3)).map { _ -> UInt8 in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
        return try PNGEncoder.encode(RGBImage(width: 640, height: 480, pixels: pixels))
    }

    static func predict(_ client: WireClient, image: [UInt8]) throws {
        _ = try client.call(
            Method.predict, PredictParams(image: ImageInput(bytes: image), hypotheses: ["there are two birds."]),
            as: PredictResult.self)
    }

    /// Waits for `socket` to answer health ready (up to `timeout` s), then measures.
    static func run(socket: String, queries: Int, clients: Int, timeout: Double) throws -> Result {
        let started = Date()
        var ready = false
        while !ready && Date().timeIntervalSince(started) < timeout {
            if let client = try? WireClient(socketPath: socket),
                let health = try? client.call(Method.health, as: HealthResult.self)
            {
                if health.state == .failed { throw BenchmarkError(description: health.detail ?? "the load failed") }
                ready = health.state == .ready
            }
            if !ready { Thread.sleep(forTimeInterval: 0.1) }
        }
        guard ready else { throw BenchmarkError(description: "not ready after \(timeout) s") }
        var result = Result(loadToReadySeconds: Date().timeIntervalSince(started))
        let images = try (0...max(queries, clients * 4)).map(image)
        let client = try WireClient(socketPath: socket)
        try predict(client, image: images[0])
        for index in 1...queries {
            let begun = Date()
            try predict(client, image: images[index])
            result.sequential.append(Date().timeIntervalSince(begun) * 1000)
        }
        result.sequentialMedianMilliseconds = result.sequential.sorted()[result.sequential.count / 2]
        // Many clients at once, each its own connection and images.
        let perClient = 4
        let failures = NSLock()
        var failed: [String] = []
        let begun = Date()
        DispatchQueue.concurrentPerform(iterations: clients) { index in
            do {
                let connection = try WireClient(socketPath: socket)
                for query in 0..<perClient {
                    try predict(connection, image: images[(index * perClient + query) % images.count])
                }
            } catch {
                failures.withLock { failed.append("\(error)") }
            }
        }
        if let first = failed.first { throw BenchmarkError(description: "\(failed.count) clients failed: \(first)") }
        result.concurrentClients = clients
        result.concurrentRequests = clients * perClient
        result.concurrentSeconds = Date().timeIntervalSince(begun)
        result.requestsPerSecond = Double(result.concurrentRequests) / result.concurrentSeconds
        result.status = try client.call(Method.status, as: StatusResult.self)
        return result
    }

    struct BenchmarkError: Error, CustomStringConvertible {
        let description: String
    }
}

// ofactl status
import ArgumentParser
import Foundation
import OFAWire

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Model, queue, counters, latency and cache figures.")

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let value = connection.call(Method.status)
        if connection.json { return printJSON(value) }
        let status = decodeResult(value, as: StatusResult.self)
        func cache(_ c: CacheStatistics) -> String {
            let size =
                if let bytes = c.bytes, let limit = c.byteLimit {
                    String(
                        format: "%d entries, %.1f/%.1f MiB", c.entries, Double(bytes) / 1_048_576,
                        Double(limit) / 1_048_576)
                } else {
                    "\(c.entries)/\(c.capacity.map(String.init) ?? "?") entries"
                }
            return "\(size), \(c.hits) hits, \(c.misses) misses, \(c.evictions) evictions"
        }
        var lines: [(String, String)] = [
            ("version", status.version), ("state", status.state.rawValue),
            ("model", status.modelDirectory), ("checksum", status.modelChecksum ?? "(computing)"),
            ("architecture", status.architecture), ("device", status.device),
            ("precision", status.precision ?? "fp32"), ("threads", "\(status.threads)"),
            ("uptime", String(format: "%.0f s", status.uptimeSeconds)),
            ("queue", "\(status.queueDepth)/\(status.queueCapacity)"), ("connections", "\(status.connections)"),
            ("served", "\(status.requestsServed)"), ("failed", "\(status.requestsFailed)"),
            ("image cache", cache(status.imageCache)), ("result cache", cache(status.resultCache)),
        ]
        if let closeCalls = status.closeCalls { lines.insert(("close calls", "\(closeCalls)"), at: 7) }
        for (key, text) in lines { print("\(key.padding(toLength: 13, withPad: " ", startingAt: 0)) \(text)") }
        for (method, latency) in status.latency.sorted(by: { $0.key < $1.key }) {
            print(
                String(
                    format: "%@ n=%d p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms",
                    ("latency " + method).padding(toLength: 20, withPad: " ", startingAt: 0), latency.count,
                    latency.p50Ms, latency.p90Ms, latency.p99Ms, latency.maxMs))
        }
        for work in status.work ?? [] {
            print(
                "working      \(work.method): \(work.work), pass \(work.done)/\(work.total), "
                    + String(format: "%.1f s", work.seconds))
        }
    }
}

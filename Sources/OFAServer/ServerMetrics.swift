// Request counters and latency statistics, reported by "status" and in Prometheus text by "metrics".
//
// Written by hand, not with swift-metrics + swift-prometheus. Evaluated (swift-prometheus 2.4.1): its registry
// could emit the same names, types, HELP lines and `le` labels, but it would not be less code. `status` still
// needs the percentiles over recent requests and the served/failed counts kept here; the queue and cache figures
// are read from their owners at scrape time, and its counters can only be incremented, not set to the caches' own
// hit/miss/eviction counts, so each would need delta bookkeeping; swift-metrics' MetricsSystem is bootstrapped
// once per process, which the several daemons of one test process cannot share. The exposition is ~80 lines.
import Foundation
import OFAWire

public final class ServerMetrics: @unchecked Sendable {
    /// Histogram bucket upper bounds in seconds.
    static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
    /// Latencies kept per method for percentiles.
    static let window = 4096

    private struct MethodStatistics {
        var recent: [Double] = []
        var next = 0
        var bucketCounts = [Int](repeating: 0, count: ServerMetrics.buckets.count)
        var count = 0
        var sum = 0.0
    }

    private let lock = NSLock()
    private var latencies: [String: MethodStatistics] = [:]
    /// Outcome counts by method and result ("ok" or the error code).
    private var outcomes: [String: [String: Int]] = [:]
    private(set) var served = 0
    private(set) var failed = 0
    private var connectionsOpened = 0
    private var connectionsOpen = 0
    private var connectionsRefused = 0

    public init() {}

    /// Records one answered request. Unknown method names are counted as "other" so clients cannot grow the table.
    public func record(method: String, seconds: Double, errorCode: Int?) {
        let name = Method.all.contains(method) ? method : "other"
        lock.withLock {
            if let errorCode {
                failed += 1
                outcomes[name, default: [:]][String(errorCode), default: 0] += 1
            } else {
                served += 1
                outcomes[name, default: [:]]["ok", default: 0] += 1
            }
            var statistics = latencies[name] ?? MethodStatistics()
            if statistics.recent.count < Self.window {
                statistics.recent.append(seconds)
            } else {
                statistics.recent[statistics.next] = seconds
            }
            statistics.next = (statistics.next + 1) % Self.window
            statistics.count += 1
            statistics.sum += seconds
            if let bucket = Self.buckets.firstIndex(where: { seconds <= $0 }) { statistics.bucketCounts[bucket] += 1 }
            latencies[name] = statistics
        }
    }

    public func connectionOpened() {
        lock.withLock {
            connectionsOpened += 1
            connectionsOpen += 1
        }
    }
    public func connectionClosed() { lock.withLock { connectionsOpen -= 1 } }
    public func connectionRefused() { lock.withLock { connectionsRefused += 1 } }
    public var openConnections: Int { lock.withLock { connectionsOpen } }
    public var counts: (served: Int, failed: Int) { lock.withLock { (served, failed) } }

    /// Percentiles over the most recent requests of each method.
    public func latencySummaries() -> [String: LatencySummary] {
        lock.withLock {
            latencies.mapValues { statistics in
                let sorted = statistics.recent.sorted()
                func percentile(_ p: Double) -> Double {
                    guard !sorted.isEmpty else { return 0 }
                    let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
                    return sorted[min(max(rank, 0), sorted.count - 1)] * 1000
                }
                return LatencySummary(
                    count: statistics.count, p50Ms: percentile(0.5), p90Ms: percentile(0.9),
                    p99Ms: percentile(0.99), maxMs: (sorted.last ?? 0) * 1000)
            }
        }
    }

    /// Prometheus text exposition format (0.0.4), with the gauges and counters the caller knows about.
    public func prometheusText(
        gauges: [(name: String, help: String, value: Double)],
        counters: [(name: String, help: String, value: Double)] = [],
        caches: [(name: String, statistics: CacheStatistics)]
    ) -> String {
        lock.withLock {
            var lines: [String] = []
            lines.append("# HELP ofad_requests_total Requests answered, by method and outcome (ok or error code).")
            lines.append("# TYPE ofad_requests_total counter")
            for (method, byOutcome) in outcomes.sorted(by: { $0.key < $1.key }) {
                for (outcome, count) in byOutcome.sorted(by: { $0.key < $1.key }) {
                    lines.append("ofad_requests_total{method=\"\(method)\",outcome=\"\(outcome)\"} \(count)")
                }
            }
            lines.append("# HELP ofad_request_duration_seconds Time from a request's arrival to its response.")
            lines.append("# TYPE ofad_request_duration_seconds histogram")
            for (method, statistics) in latencies.sorted(by: { $0.key < $1.key }) {
                var cumulative = 0
                for (bound, count) in zip(Self.buckets, statistics.bucketCounts) {
                    cumulative += count
                    lines.append(
                        "ofad_request_duration_seconds_bucket{method=\"\(method)\",le=\"\(bound)\"} \(cumulative)")
                }
                lines.append(
                    "ofad_request_duration_seconds_bucket{method=\"\(method)\",le=\"+Inf\"} \(statistics.count)")
                lines.append("ofad_request_duration_seconds_sum{method=\"\(method)\"} \(statistics.sum)")
                lines.append("ofad_request_duration_seconds_count{method=\"\(method)\"} \(statistics.count)")
            }
            lines.append("# HELP ofad_connections_total Connections accepted.")
            lines.append("# TYPE ofad_connections_total counter")
            lines.append("ofad_connections_total \(connectionsOpened)")
            lines.append("# HELP ofad_connections_refused_total Connections refused over the connection limit.")
            lines.append("# TYPE ofad_connections_refused_total counter")
            lines.append("ofad_connections_refused_total \(connectionsRefused)")
            lines.append("# HELP ofad_connections Connections open now.")
            lines.append("# TYPE ofad_connections gauge")
            lines.append("ofad_connections \(connectionsOpen)")
            for (type, samples) in [("gauge", gauges), ("counter", counters)] {
                for sample in samples {
                    lines.append("# HELP \(sample.name) \(sample.help)")
                    lines.append("# TYPE \(sample.name) \(type)")
                    lines.append("\(sample.name) \(sample.value)")
                }
            }
            for (field, help, type) in [
                ("hits", "Cache hits.", "counter"), ("misses", "Cache misses.", "counter"),
                ("evictions", "Cache evictions.", "counter"), ("entries", "Cache entries.", "gauge"),
            ] {
                let name = "ofad_cache_\(field)" + (type == "counter" ? "_total" : "")
                lines.append("# HELP \(name) \(help)")
                lines.append("# TYPE \(name) \(type)")
                for cache in caches {
                    let value =
                        switch field {
                        case "hits": cache.statistics.hits
                        case "misses": cache.statistics.misses
                        case "evictions": cache.statistics.evictions
                        default: cache.statistics.entries
                        }
                    lines.append("\(name){cache=\"\(cache.name)\"} \(value)")
                }
            }
            // Caches bounded by bytes (the image cache): what they hold and the most they may hold.
            let sized = caches.filter { $0.statistics.bytes != nil }
            for (name, help) in [
                ("ofad_cache_bytes", "Bytes the cache holds."),
                ("ofad_cache_limit_bytes", "Most bytes the cache may hold."),
            ] where !sized.isEmpty {
                lines.append("# HELP \(name) \(help)")
                lines.append("# TYPE \(name) gauge")
                for cache in sized {
                    let statistics = cache.statistics
                    let value = name == "ofad_cache_bytes" ? statistics.bytes ?? 0 : statistics.byteLimit ?? 0
                    lines.append("\(name){cache=\"\(cache.name)\"} \(value)")
                }
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }
}

// How long ofactl batch waits before sending a line the daemon answered "busy" again: doubling, capped.
import Foundation
import OFAWire

struct Backoff: Sendable {
    /// The longest wait before one retry, in seconds.
    static let maximumDelay = 10.0

    /// Retries per line after the first attempt.
    var retries: Int
    /// Seconds before the first retry.
    var firstDelay: Double

    /// Seconds to wait before retry `number` (1 for the first), or nil when the line has had all its retries.
    func delay(beforeRetry number: Int) -> Double? {
        guard number >= 1, number <= retries else { return nil }
        return min(Self.maximumDelay, firstDelay * pow(2, Double(number - 1)))
    }
}

/// The requests sent and not yet finally answered, by line, with the retries each has had. Thread-safe.
final class RetryBook: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [Int: (request: RPCRequest, retries: Int)] = [:]
    private var abandoned: [Int] = []

    func remember(line: Int, request: RPCRequest) { lock.withLock { requests[line] = (request, 0) } }

    /// Counts one more retry of `line` and returns its request and number; nil for a line not sent from here.
    func retry(line: Int) -> (request: RPCRequest, number: Int)? {
        lock.withLock {
            guard var entry = requests[line] else { return nil }
            entry.retries += 1
            requests[line] = entry
            return (entry.request, entry.retries)
        }
    }

    func forget(line: Int) { _ = lock.withLock { requests.removeValue(forKey: line) } }

    /// Records that `line` was given up on.
    func giveUp(line: Int) { lock.withLock { abandoned.append(line) } }

    /// The lines given up on, in order.
    var givenUp: [Int] { lock.withLock { abandoned.sorted() } }
}

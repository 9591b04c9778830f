// A bounded queue of model requests served by a fixed set of worker threads. Full means "busy" at once;
// cancelled or expired jobs never reach the engine.
import Foundation
import OFAWire

/// Monotonic time in nanoseconds.
@inline(__always) func monotonicNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

public typealias JobResult = Result<JSONValue, RPCError>

/// One queued request. It finishes exactly once: with its result, a timeout, or silently when cancelled.
public final class Job: @unchecked Sendable {
    public let enqueuedAt: UInt64
    public let deadline: UInt64
    /// Runs on a worker thread; gets the time the worker picked it up.
    let work: @Sendable (_ startedAt: UInt64) -> JobResult
    private let completion: @Sendable (JobResult) -> Void
    private let lock = NSLock()
    private var finished = false

    public init(
        timeoutSeconds: Double, work: @escaping @Sendable (UInt64) -> JobResult,
        completion: @escaping @Sendable (JobResult) -> Void
    ) {
        enqueuedAt = monotonicNanoseconds()
        deadline = enqueuedAt + UInt64(timeoutSeconds * 1e9)
        self.work = work
        self.completion = completion
    }

    public var isFinished: Bool { lock.withLock { finished } }

    /// Delivers `result` unless the job already finished; returns whether it was delivered.
    @discardableResult
    public func finish(_ result: JobResult?) -> Bool {
        let first = lock.withLock {
            defer { finished = true }
            return !finished
        }
        if first, let result { completion(result) }
        return first
    }
}

public final class RequestQueue: @unchecked Sendable {
    public enum Admission: Equatable { case accepted, full, closed }

    public let capacity: Int
    private let condition = NSCondition()
    private var pending: [Job] = []
    private var pendingStart = 0
    /// Start times of the jobs being run, by worker.
    private var runningSince: [Int: UInt64] = [:]
    private var runningJobs: [Int: Job] = [:]
    private var accepting = true
    private var stopping = false
    private var threads: [Thread] = []

    public init(workers: Int, capacity: Int) {
        self.capacity = capacity
        for index in 0..<workers {
            // Each worker holds the queue until stopWorkers() lets it end.
            let thread = Thread { self.serve(worker: index) }
            thread.name = "ofad-worker-\(index)"
            thread.stackSize = 8 << 20
            threads.append(thread)
            thread.start()
        }
    }

    /// Requests waiting for a worker.
    public var depth: Int { condition.withLock { pending.count - pendingStart } }
    /// Requests being run now.
    public var running: Int { condition.withLock { runningSince.count } }

    /// How long the longest-running request has been running, in seconds (0 when none is).
    public var longestRunningSeconds: Double {
        let now = monotonicNanoseconds()
        return condition.withLock {
            runningSince.values.map { Double(now &- $0) / 1e9 }.max() ?? 0
        }
    }

    public func submit(_ job: Job) -> Admission {
        condition.withLock {
            guard accepting else { return .closed }
            guard pending.count - pendingStart < capacity else { return .full }
            pending.append(job)
            condition.signal()
            return .accepted
        }
    }

    /// Takes a job out of the queue if it is still waiting, and finishes it with `result` (nil: silently).
    public func withdraw(_ job: Job, finishingWith result: JobResult?) {
        condition.withLock {
            if let index = pending[pendingStart...].firstIndex(where: { $0 === job }) {
                pending.remove(at: index)
                condition.broadcast()
            }
        }
        job.finish(result)
    }

    /// Stops taking new jobs; queued and running ones go on.
    public func close() {
        condition.withLock { accepting = false }
    }

    /// Waits until nothing is queued or running, up to `timeout` seconds; returns whether that happened.
    public func waitUntilIdle(timeoutSeconds: Double) -> Bool {
        let limit = Date(timeIntervalSinceNow: timeoutSeconds)
        return condition.withLock {
            while pending.count > pendingStart || !runningSince.isEmpty {
                if !condition.wait(until: limit) { return pending.count <= pendingStart && runningSince.isEmpty }
            }
            return true
        }
    }

    /// Finishes every waiting job with `result` and empties the queue.
    public func failPending(with error: RPCError) {
        let jobs = condition.withLock {
            defer {
                pending.removeAll()
                pendingStart = 0
            }
            return Array(pending[pendingStart...])
        }
        for job in jobs { job.finish(.failure(error)) }
    }

    /// Finishes every running job with `error`; the engine's eventual results are dropped.
    public func failRunning(with error: RPCError) {
        let jobs = condition.withLock { Array(runningJobs.values) }
        for job in jobs { job.finish(.failure(error)) }
    }

    /// Lets the workers end once they are idle (a hung engine call keeps its thread).
    public func stopWorkers() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    private func serve(worker: Int) {
        while let job = nextJob(worker: worker) {
            let now = monotonicNanoseconds()
            if now >= job.deadline {
                job.finish(.failure(RPCError(code: RPCErrorCode.timedOut, message: "request timed out in the queue")))
            } else if !job.isFinished {
                job.finish(job.work(now))
            }
            condition.withLock {
                runningSince[worker] = nil
                runningJobs[worker] = nil
                condition.broadcast()
            }
        }
    }

    private func nextJob(worker: Int) -> Job? {
        condition.withLock {
            while true {
                if pending.count > pendingStart {
                    let job = pending[pendingStart]
                    pendingStart += 1
                    if pendingStart > 1024 && pendingStart * 2 > pending.count {
                        pending.removeFirst(pendingStart)
                        pendingStart = 0
                    }
                    if job.isFinished {
                        condition.broadcast()  // waitUntilIdle may be waiting on this skipped job
                        continue
                    }
                    runningSince[worker] = monotonicNanoseconds()
                    runningJobs[worker] = job
                    return job
                }
                if stopping { return nil }
                condition.wait()
            }
        }
    }
}

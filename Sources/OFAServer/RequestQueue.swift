// A bounded queue of model requests served by a fixed set of worker threads. Full means "busy" at once;
// cancelled or expired jobs never reach the engine.
import DequeModule
import Foundation
import OFAWire

/// Monotonic time in nanoseconds.
@inline(__always) func monotonicNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

public typealias JobResult = Result<JSONValue, RPCError>

/// One queued request. It finishes exactly once: with its result, a timeout, or silently when cancelled.
public final class Job: @unchecked Sendable {
    public let enqueuedAt: UInt64
    public let deadline: UInt64
    public typealias Work = @Sendable (_ startedAt: UInt64, _ deadline: UInt64) -> JobResult
    private let lock = NSLock()
    /// Runs on a worker thread; gets the time the worker picked it up and the job's deadline. Released (with the
    /// request's inputs it holds) when the job finishes.
    private var work: Work?
    private var completion: (@Sendable (JobResult) -> Void)?

    public init(
        timeoutSeconds: Double, work: @escaping Work, completion: @escaping @Sendable (JobResult) -> Void
    ) {
        enqueuedAt = monotonicNanoseconds()
        deadline = enqueuedAt + UInt64(timeoutSeconds * 1e9)
        self.work = work
        self.completion = completion
    }

    public var isFinished: Bool { lock.withLock { completion == nil } }

    /// Whether the job still holds its work closure and what it captured (false once finished).
    public var holdsInputs: Bool { lock.withLock { work != nil } }

    /// Runs the work, unless the job finished already; nil then.
    func run(startedAt: UInt64) -> JobResult? {
        guard let work = lock.withLock({ work }) else { return nil }
        return work(startedAt, deadline)
    }

    /// Delivers `result` unless the job already finished; returns whether it was delivered. Either way the job
    /// lets go of its work and completion, and so of the request's text and image bytes.
    @discardableResult
    public func finish(_ result: JobResult?) -> Bool {
        let completion = lock.withLock {
            defer {
                self.completion = nil
                work = nil
            }
            return self.completion
        }
        if let completion, let result { completion(result) }
        return completion != nil
    }
}

public final class RequestQueue: @unchecked Sendable {
    public enum Admission: Equatable { case accepted, full, closed }

    public let capacity: Int
    private let condition = NSCondition()
    private var pending = Deque<Job>()
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
    public var depth: Int { condition.withLock { pending.count } }
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
            guard pending.count < capacity else { return .full }
            pending.append(job)
            condition.signal()
            return .accepted
        }
    }

    /// Takes a job out of the queue if it is still waiting, and finishes it with `result` (nil: silently).
    public func withdraw(_ job: Job, finishingWith result: JobResult?) {
        condition.withLock {
            if let index = pending.firstIndex(where: { $0 === job }) {
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
            while !pending.isEmpty || !runningSince.isEmpty {
                if !condition.wait(until: limit) { return pending.isEmpty && runningSince.isEmpty }
            }
            return true
        }
    }

    /// Finishes every waiting job with `result` and empties the queue.
    public func failPending(with error: RPCError) {
        let jobs = condition.withLock {
            defer { pending.removeAll() }
            return Array(pending)
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
            } else if let result = job.run(startedAt: now) {
                job.finish(result)
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
                if let job = pending.popFirst() {
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

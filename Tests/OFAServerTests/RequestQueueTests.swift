// The request queue: each job runs and finishes once, expired jobs never run, a closed queue refuses.
import Foundation
import OFAWire
import XCTest

@testable import OFAServer

final class RequestQueueTests: XCTestCase {
    func testEveryJobRunsAtMostOnceAndFinishesExactlyOnce() {
        let queue = RequestQueue(workers: 2, capacity: 100)
        defer { queue.stopWorkers() }
        // Both workers held, so the jobs below wait until every odd one has been finished from outside.
        let release = DispatchSemaphore(value: 0)
        for _ in 0..<2 {
            let blocker = Job(
                timeoutSeconds: 10,
                work: { _, _ in
                    release.wait()
                    return .success(.null)
                }, completion: { _ in })
            XCTAssertEqual(queue.submit(blocker), .accepted)
        }
        XCTAssertTrue(waitUntil { queue.running == 2 })
        let lock = NSLock()
        var runs = [Int](repeating: 0, count: 50)
        var completions = [Int](repeating: 0, count: 50)
        var results = [JSONValue?](repeating: nil, count: 50)
        var jobs: [Job] = []
        for index in 0..<50 {
            let job = Job(
                timeoutSeconds: 10,
                work: { _, _ in
                    lock.withLock { runs[index] += 1 }
                    return .success(.integer(Int64(index)))
                },
                completion: { result in
                    lock.withLock {
                        completions[index] += 1
                        results[index] = try? result.get()
                    }
                })
            XCTAssertEqual(queue.submit(job), .accepted)
            jobs.append(job)
        }
        for index in stride(from: 1, to: 50, by: 2) {
            XCTAssertTrue(jobs[index].finish(.success(.string("finished outside"))))
            XCTAssertFalse(jobs[index].finish(.success(.null)), "a second finish is ignored")
        }
        release.signal()
        release.signal()
        XCTAssertTrue(queue.waitUntilIdle(timeoutSeconds: 5))
        lock.withLock {
            for index in 0..<50 {
                XCTAssertEqual(completions[index], 1, "job \(index) finishes exactly once")
                if index % 2 == 0 {
                    XCTAssertEqual(runs[index], 1, "job \(index) runs exactly once")
                    XCTAssertEqual(results[index], .integer(Int64(index)), "job \(index) gets its own result")
                } else {
                    XCTAssertEqual(runs[index], 0, "job \(index), finished before a worker reached it, never runs")
                    XCTAssertEqual(results[index], .string("finished outside"))
                }
            }
        }
    }

    func testAJobPastItsDeadlineInTheQueueIsAnsweredTimedOutWithoutRunning() {
        let queue = RequestQueue(workers: 1, capacity: 10)
        defer { queue.stopWorkers() }
        let blocker = DispatchSemaphore(value: 0)
        let ran = NSLock()
        var runs = 0
        let first = Job(
            timeoutSeconds: 10,
            work: { _, _ in
                blocker.wait()
                return .success(.null)
            }, completion: { _ in })
        let answered = DispatchSemaphore(value: 0)
        var code: Int?
        let second = Job(
            timeoutSeconds: 0.05,
            work: { _, _ in
                ran.withLock { runs += 1 }
                return .success(.null)
            },
            completion: { result in
                if case .failure(let error) = result { code = error.code }
                answered.signal()
            })
        XCTAssertEqual(queue.submit(first), .accepted)
        XCTAssertEqual(queue.submit(second), .accepted)
        Thread.sleep(forTimeInterval: 0.1)
        blocker.signal()
        XCTAssertEqual(answered.wait(timeout: .now() + 2), .success)
        XCTAssertEqual(code, RPCErrorCode.timedOut)
        XCTAssertEqual(ran.withLock { runs }, 0)
    }

    func testAClosedQueueRefusesNewJobs() {
        let queue = RequestQueue(workers: 1, capacity: 1)
        defer { queue.stopWorkers() }
        queue.close()
        XCTAssertEqual(
            queue.submit(Job(timeoutSeconds: 1, work: { _, _ in .success(.null) }, completion: { _ in })), .closed)
    }

    func testAFinishedJobLetsGoOfItsInputsAtOnceNotAtTheNextCompaction() {
        // Issue 12: the queue kept consumed jobs, with their base64 text and image bytes, until 1,024 more had run.
        final class Payload: @unchecked Sendable { let bytes = [UInt8](repeating: 7, count: 1 << 20) }
        let queue = RequestQueue(workers: 1, capacity: 200)
        defer { queue.stopWorkers() }
        var payloads: [Weak] = []
        var jobs: [Job] = []
        let done = DispatchGroup()
        for index in 0..<100 {
            let payload = Payload()
            payloads.append(Weak(payload))
            done.enter()
            let job = Job(
                timeoutSeconds: 30,
                work: { _, _ in .success(.integer(Int64(payload.bytes.count))) },
                completion: { _ in done.leave() })
            jobs.append(job)
            // Some are withdrawn before they run, some time out in the queue, the rest run.
            if index % 10 == 3 {
                queue.withdraw(job, finishingWith: .failure(RPCError(code: RPCErrorCode.timedOut, message: "t")))
            } else {
                XCTAssertEqual(queue.submit(job), .accepted)
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        XCTAssertTrue(waitUntil { queue.running == 0 && queue.depth == 0 })
        XCTAssertEqual(jobs.filter(\.holdsInputs).count, 0)
        XCTAssertEqual(payloads.filter { $0.object != nil }.count, 0, "finished jobs still hold their inputs")
    }
}

/// A weak reference, to see whether anything still holds an object.
private final class Weak {
    weak var object: AnyObject?
    init(_ object: AnyObject) { self.object = object }
}

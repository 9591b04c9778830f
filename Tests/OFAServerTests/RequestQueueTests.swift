// The request queue: each job runs and finishes once, expired jobs never run, a closed queue refuses.
import Foundation
import OFAWire
import XCTest

@testable import OFAServer

final class RequestQueueTests: XCTestCase {
    func testJobsRunAndEachFinishesExactlyOnce() {
        let queue = RequestQueue(workers: 2, capacity: 100)
        defer { queue.stopWorkers() }
        let lock = NSLock()
        var results: [Int] = []
        for index in 0..<50 {
            let job = Job(
                timeoutSeconds: 10, work: { _ in .success(.integer(Int64(index))) },
                completion: { result in
                    if case .success(.integer(let value)) = result { lock.withLock { results.append(Int(value)) } }
                })
            XCTAssertEqual(queue.submit(job), .accepted)
            XCTAssertFalse(job.finish(.success(.null)) && job.finish(.success(.null)), "a second finish is ignored")
        }
        XCTAssertTrue(queue.waitUntilIdle(timeoutSeconds: 5))
        // Jobs finished here before a worker reached them are skipped, never run twice.
        XCTAssertEqual(Set(results).count, results.count)
    }

    func testAJobPastItsDeadlineInTheQueueIsAnsweredTimedOutWithoutRunning() {
        let queue = RequestQueue(workers: 1, capacity: 10)
        defer { queue.stopWorkers() }
        let blocker = DispatchSemaphore(value: 0)
        let ran = NSLock()
        var runs = 0
        let first = Job(
            timeoutSeconds: 10,
            work: { _ in
                blocker.wait()
                return .success(.null)
            }, completion: { _ in })
        let answered = DispatchSemaphore(value: 0)
        var code: Int?
        let second = Job(
            timeoutSeconds: 0.05,
            work: { _ in
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
            queue.submit(Job(timeoutSeconds: 1, work: { _ in .success(.null) }, completion: { _ in })), .closed)
    }
}

// Work of many forward passes answers to its request: refused after its first pass when all of them would not fit
// the time left (naming the option that asked for them), stopped when its caller goes away or its time runs out.
import Foundation
import OFA
import OFAWire
import XCTest

@testable import OFAExplanation

final class WorkBudgetTests: XCTestCase {
    /// `passes` passes of `seconds` each, reported as OFA's perturbation work reports them.
    func work(passes: Int, seconds: Double) -> (@escaping PerturbationProgress) throws -> Int {
        { progress in
            for done in 1...passes {
                Thread.sleep(forTimeInterval: seconds)
                if !progress(done, passes) { throw PerturbationCancelled(done: done, total: passes) }
            }
            return passes
        }
    }

    func testWorkWhosePassesWouldOutlastTheTimeLeftIsRefusedAfterTheFirstNamingItsOption() {
        let budget = WorkBudget(deadline: .now + .seconds(1), isCancelled: { false })
        let start = Date()
        XCTAssertThrowsError(try budget.run(passes: "occlusion 1/1", key: "window", work(passes: 100, seconds: 0.05))) {
            let error = $0 as? ParameterError
            XCTAssertEqual(error?.key, "window")
            XCTAssertTrue(error?.message.contains("asks for 100 forward passes (occlusion 1/1)") ?? false, "\($0)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.5, "refused after one pass, not after the timeout")
    }

    func testWorkThatFitsRunsToTheEnd() throws {
        let budget = WorkBudget(deadline: .now + .seconds(10), isCancelled: { false })
        XCTAssertEqual(try budget.run(passes: "p", key: "window", work(passes: 5, seconds: 0.001)), 5)
    }

    func testWorkStopsAtTheNextPassWhenItsCallerGoesAway() {
        let calls = NSLock()
        nonisolated(unsafe) var asked = 0
        let budget = WorkBudget(deadline: .now + .seconds(10)) {
            calls.withLock {
                asked += 1
                return asked >= 3
            }
        }
        XCTAssertThrowsError(try budget.run(passes: "p", key: "window", work(passes: 50, seconds: 0.001))) {
            XCTAssertEqual($0 as? ExplanationError, .cancelled)
        }
        XCTAssertEqual(calls.withLock { asked }, 3)
    }

    func testWorkThatRunsPastItsDeadlineStopsAsTimedOut() {
        // The first pass is quick (so the estimate lets it go on); later ones are slow.
        let budget = WorkBudget(deadline: .now + .milliseconds(200), isCancelled: { false })
        XCTAssertThrowsError(
            try budget.run(passes: "p", key: "faithfulness") { progress in
                for done in 1...20 {
                    Thread.sleep(forTimeInterval: done == 1 ? 0.001 : 0.05)
                    if !progress(done, 20) { throw PerturbationCancelled(done: done, total: 20) }
                }
                return 20
            }
        ) {
            guard case .timedOut(let why)? = $0 as? ExplanationError else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("of 20 passes"), why)
        }
    }
}

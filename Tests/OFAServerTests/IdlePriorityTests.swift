// Work after READY that must not slow requests (the model directory's checksum) runs under SCHED_IDLE, on its own
// thread only.
import Foundation
import XCTest

@testable import OFAServer

final class IdlePriorityTests: XCTestCase {
    func testAThreadEntersIdlePriorityAndOthersKeepTheirs() {
        let before = IdlePriority.current
        XCTAssertNotEqual(before, IdlePriority.policy)
        var entered = false
        var policy: Int32 = -1
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            entered = IdlePriority.enter()
            policy = IdlePriority.current
            done.signal()
        }
        thread.start()
        done.wait()
        XCTAssertTrue(entered)
        XCTAssertEqual(policy, IdlePriority.policy)
        XCTAssertEqual(IdlePriority.current, before, "the calling thread is untouched")
    }
}

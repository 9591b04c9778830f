// A DaemonGateway whose calls wait at a gate the test opens, as a busy ofad would: test double only.
import Foundation
import OFAWeb
import OFAWire

final class GatedGateway: DaemonGateway, @unchecked Sendable {
    private let condition = NSCondition()
    private var open = false
    /// Calls that may pass while the gate is shut.
    private var passes = 0
    private var arrived = 0

    /// Calls that have reached the gate so far (waiting or let through).
    var arrivals: Int { condition.withLock { arrived } }

    /// Lets every waiting and later call through.
    func openGate() {
        condition.withLock {
            open = true
            condition.broadcast()
        }
    }

    /// Lets one waiting (or the next) call through; the gate stays shut for the others.
    func letOneThrough() {
        condition.withLock {
            passes += 1
            condition.broadcast()
        }
    }

    func call(_ method: String, params: JSONValue?) throws -> JSONValue {
        condition.withLock {
            arrived += 1
            while !open && passes == 0 { condition.wait() }
            if !open { passes -= 1 }
        }
        return ["predictions": []]
    }
}

// How far each request's work of many forward passes is, for `status`: workers write, status reads.
import Foundation
import OFAWire

final class ProgressBoard: @unchecked Sendable {
    private struct Entry {
        let method: String
        let started: UInt64
        var work: String
        var done: Int
        var total: Int
    }

    private let lock = NSLock()
    private var entries: [UInt64: Entry] = [:]
    private var next: UInt64 = 0

    /// A reporter for one request's work (WorkBudget.report); its entry goes when the work says it ended.
    func reporter(method: String) -> @Sendable (String?, Int, Int) -> Void {
        let key = lock.withLock {
            next += 1
            return next
        }
        return { [weak self] work, done, total in
            guard let self else { return }
            self.lock.withLock {
                guard let work else {
                    self.entries[key] = nil
                    return
                }
                let started = self.entries[key]?.started ?? monotonicNanoseconds()
                self.entries[key] = Entry(method: method, started: started, work: work, done: done, total: total)
            }
        }
    }

    /// Every running work, oldest first.
    var snapshot: [WorkInProgress] {
        let now = monotonicNanoseconds()
        return lock.withLock {
            entries.sorted { $0.key < $1.key }.map {
                WorkInProgress(
                    method: $0.value.method, work: $0.value.work, done: $0.value.done, total: $0.value.total,
                    seconds: Double(now &- $0.value.started) / 1e9)
            }
        }
    }
}

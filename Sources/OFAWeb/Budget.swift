// A count that all connections share, with a ceiling: the connections open, the request body bytes held.
import Foundation

final class Budget: @unchecked Sendable {
    let limit: Int
    private let lock = NSLock()
    private var taken = 0

    init(limit: Int) { self.limit = limit }

    /// How much is taken now.
    var inUse: Int { lock.withLock { taken } }

    /// Takes `amount` if it fits under the limit; false (and nothing taken) if it does not.
    func take(_ amount: Int) -> Bool {
        lock.withLock {
            guard amount <= limit - taken else { return false }
            taken += amount
            return true
        }
    }

    /// Gives back what `take` took.
    func giveBack(_ amount: Int) {
        lock.withLock {
            assert(amount <= taken, "gave back \(amount) of \(taken)")
            taken = max(0, taken - amount)
        }
    }
}

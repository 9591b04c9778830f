// Withdraws a daemon call whose HTTP client went away: the connection handler cancels, the gateway ends its daemon
// connection, and ofad drops the work still queued for it.
import Foundation

public final class CallCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var handler: (@Sendable () -> Void)?

    public init() {}

    public var isCancelled: Bool { lock.withLock { cancelled } }

    /// Runs `body`; a cancel while it runs calls `handler` once (at once if already cancelled). The handler is let
    /// go when `body` returns, so what it holds (a socket) stays open until then.
    public func whileRunning<T>(_ body: () throws -> T, onCancel handler: @escaping @Sendable () -> Void) rethrows -> T
    {
        let alreadyCancelled = lock.withLock {
            if !cancelled { self.handler = handler }
            return cancelled
        }
        if alreadyCancelled { handler() }
        defer { lock.withLock { self.handler = nil } }
        return try body()
    }

    /// Marks the call withdrawn and runs the handler of the body running now, if any; later calls do nothing.
    public func cancel() {
        let handler = lock.withLock {
            defer { self.handler = nil }
            guard !cancelled else { return nil as (@Sendable () -> Void)? }
            cancelled = true
            return self.handler
        }
        handler?()
    }
}

// Background work that must not slow requests. After READY the daemon reads the whole model directory for its
// checksum (seconds for OFA-large's 1.9 GB); at normal priority, on a 2-core machine, that took a core from the first
// queries (bf16: 2.1 s for the first against 1.4 s for the next ones).
import Foundation

enum IdlePriority {
    /// Linux's SCHED_IDLE (`sched.h` defines it only under _GNU_SOURCE, which Swift's Glibc module does not set).
    static let policy: Int32 = 5

    /// Puts the calling thread under SCHED_IDLE: it runs only where a core would otherwise be idle. Returns
    /// whether the kernel took it (lowering one's own policy needs no privilege).
    @discardableResult
    static func enter() -> Bool {
        var parameters = sched_param()
        return pthread_setschedparam(pthread_self(), policy, &parameters) == 0
    }

    /// The calling thread's scheduling policy.
    static var current: Int32 {
        var policy: Int32 = -1
        var parameters = sched_param()
        _ = pthread_getschedparam(pthread_self(), &policy, &parameters)
        return policy
    }
}

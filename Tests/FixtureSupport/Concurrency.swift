// Test helpers that run many clients at once and read a process's memory, shared by the daemon's and ofa-web's
// tests and benchmarks.
import Foundation

/// Runs `body` on `count` threads at once (not a thread pool, so all are really concurrent). Each calls `ready()`
/// once it is set up (say, connected); the bodies go on together after every one has. `stackBytes`: each thread's
/// stack (a forward pass of the model wants more than a client).
public func runConcurrently(
    _ count: Int, stackBytes: Int = 1 << 20, _ body: @escaping (_ index: Int, _ ready: () -> Void) -> Void
) {
    let group = DispatchGroup()
    let lock = NSCondition()
    var waiting = count
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            var signalled = false
            let ready = {
                guard !signalled else { return }
                signalled = true
                lock.withLock {
                    waiting -= 1
                    lock.broadcast()
                    while waiting > 0 { lock.wait() }
                }
            }
            body(index, ready)
            if !signalled { ready() }
            group.leave()
        }
        thread.stackSize = stackBytes
        thread.start()
    }
    group.wait()
}

/// A field of /proc/PID/status given in kB (VmRSS: resident now, VmHWM: peak resident), in MiB; 0 when unreadable.
public func processMemoryMiB(_ pid: Int32, _ field: String) -> Double {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
    return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
}

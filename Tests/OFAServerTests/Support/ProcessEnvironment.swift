// Sets (or, given nil, removes) variables in this test process's environment, where libsystemd reads systemd's
// settings, and puts the previous values back. XCTest runs one test at a time, so no two tests see each other's.
import Foundation

final class ProcessEnvironment {
    private let previous: [String: String?]

    init(_ variables: [String: String?]) {
        var previous: [String: String?] = [:]
        for (name, value) in variables {
            previous[name] = getenv(name).map { String(cString: $0) }
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
        self.previous = previous
    }

    /// Puts the previous values back (also done on deinit).
    func restore() {
        for (name, value) in previous {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
    }

    deinit { restore() }
}

/// Runs `body` with `variables` set in the process environment.
func withProcessEnvironment<T>(_ variables: [String: String?], _ body: () throws -> T) rethrows -> T {
    let environment = ProcessEnvironment(variables)
    defer { environment.restore() }
    return try body()
}

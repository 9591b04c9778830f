// systemd's side channels through libsystemd: sd_notify, the watchdog settings and sockets passed by socket
// activation. The only file that imports CSystemd; libsystemd reads them from this process's environment
// (NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES).
import CSystemd
import Glibc

/// A libsystemd call that failed, with the error number it returned.
public enum SystemdError: Error, Equatable, CustomStringConvertible {
    case notifyFailed(errno: Int32)
    case watchdogUnreadable(errno: Int32)
    case activationUnreadable(errno: Int32)

    public var description: String {
        switch self {
        case .notifyFailed(let code): return "sd_notify failed: \(String(cString: strerror(code)))"
        case .watchdogUnreadable(let code):
            return "sd_watchdog_enabled failed: \(String(cString: strerror(code)))"
        case .activationUnreadable(let code):
            return "sd_listen_fds_with_names failed: \(String(cString: strerror(code)))"
        }
    }
}

/// A listening socket systemd passed to this process, with the name its unit gave it (FileDescriptorName=,
/// by default the socket unit's name).
public struct ActivatedSocket: Sendable, Equatable {
    public var descriptor: Int32
    public var name: String
}

public struct SystemdNotifier: Sendable {
    /// How often systemd expects WATCHDOG=1, when it asks for it (for this process).
    public let watchdogInterval: Double?

    /// Reads the watchdog settings; a malformed WATCHDOG_USEC counts as no watchdog.
    public init() {
        watchdogInterval = try? Self.watchdogSetting()
    }

    /// The watchdog interval in seconds, nil when systemd asks for none.
    public static func watchdogSetting() throws -> Double? {
        var microseconds: UInt64 = 0
        let result = sd_watchdog_enabled(0, &microseconds)
        guard result >= 0 else { throw SystemdError.watchdogUnreadable(errno: -result) }
        return result > 0 && microseconds > 0 ? Double(microseconds) / 1e6 : nil
    }

    /// Sends one notification, e.g. "READY=1" or "STATUS=loading"; true when delivered, false when this process
    /// was not started by systemd (no notify socket).
    @discardableResult
    public func notify(_ message: String) throws -> Bool {
        let result = sd_notify(0, message)
        guard result >= 0 else { throw SystemdError.notifyFailed(errno: -result) }
        return result > 0
    }

    /// Listening sockets passed by socket activation to this process, marked close-on-exec. The activation
    /// variables are removed, so child processes do not take the sockets for theirs.
    public static func activatedSockets() throws -> [ActivatedSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count >= 0 else { throw SystemdError.activationUnreadable(errno: -count) }
        defer {
            if let names {
                for index in 0..<Int(count) { free(names[index]) }
                free(names)
            }
        }
        return (0..<count).map { index in
            let name = names?[Int(index)].map { String(cString: $0) } ?? "unknown"
            return ActivatedSocket(descriptor: SD_LISTEN_FDS_START + index, name: name)
        }
    }
}

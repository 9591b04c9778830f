// ofactl health [--wait SECS]
import ArgumentParser
import Foundation
import OFAWire

struct Health: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "loading, ready or failed. Exits 0 only when ready.",
        discussion: "With --wait, keeps asking (and reconnecting) until ready, failed, or SECS have passed.")

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Seconds to wait for the daemon to become ready.") var wait: Double?

    func run() throws {
        let deadline = Date(timeIntervalSinceNow: wait ?? 0)
        while true {
            let answer: Result<JSONValue, Error> = Result {
                try WireClient(socketPath: connection.socketPath).call(Method.health)
            }
            if case .success(let value) = answer {
                let health = decodeResult(value, as: HealthResult.self)
                if health.state == .ready || health.state == .failed || Date() >= deadline {
                    if connection.json {
                        printJSON(value)
                    } else {
                        print(health.state.rawValue + (health.detail.map { ": \($0)" } ?? ""))
                    }
                    if health.state != .ready { throw ExitCode(ExitStatus.notReady) }
                    return
                }
            } else if case .failure(let error) = answer, Date() >= deadline {
                let status = error is RPCError ? ExitStatus.daemonError : ExitStatus.connection
                fail("ofactl: health: \(error)", status)
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }
}

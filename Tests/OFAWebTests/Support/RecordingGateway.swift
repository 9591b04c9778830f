// A DaemonGateway that records what would reach ofad and answers from a script: test double only.
import Foundation
import Logging
import OFAWeb
import OFAWire

final class RecordingGateway: DaemonGateway, @unchecked Sendable {
    struct Call {
        var method: String
        var params: JSONValue?
    }

    private let lock = NSLock()
    private var recorded: [Call] = []
    /// Answers per method; a method without one fails as a daemon that is down would.
    var answers: [String: Result<JSONValue, WebError>]

    init(answers: [String: Result<JSONValue, WebError>] = [:]) { self.answers = answers }

    var calls: [Call] { lock.withLock { recorded } }

    func call(_ method: String, params: JSONValue?) throws -> JSONValue {
        let answer = lock.withLock {
            recorded.append(Call(method: method, params: params))
            return answers[method]
        }
        guard let answer else { throw WebError.daemonDown }
        return try answer.get()
    }
}

/// A WebServer on a free loopback port, stopped when the test's reference goes away.
final class TestWebServer {
    let server: WebServer
    let port: Int
    /// Runs before the server stops (which waits for the daemon calls in progress), e.g. to open a gate.
    var beforeShutdown: () -> Void = {}

    init(gateway: DaemonGateway, configure: (inout WebConfiguration) -> Void = { _ in }) throws {
        var configuration = WebConfiguration()
        configuration.port = 0
        configure(&configuration)
        server = WebServer(
            configuration: configuration, gateway: gateway,
            logger: .init(label: "ofa-web-test") { _ in
                SwiftLogNoOpLogHandler()
            })
        port = try server.start()
    }

    deinit {
        beforeShutdown()
        server.shutdown()
    }
}

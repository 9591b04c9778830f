// An upload flood against a real ofa-web process (issue 12), with the bound each run must meet. Not a timed test:
// runs only with OFAD_BENCHMARK=1 and prints the figures for BENCHMARKS.md; OFA_WEB_BINARY names the ofa-web to
// attack (a release build: swift build -c release --product ofa-web && OFAD_BENCHMARK=1
// OFA_WEB_BINARY=.build/release/ofa-web swift test --filter UploadFloodBenchmark). Behind it is a daemon that takes
// every connection and never answers, so each upload it accepts stays held; ofa-web's peak resident memory comes
// from /proc/PID/status.
import FixtureSupport
import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// TEST DOUBLE ONLY: a Unix socket that accepts every connection and reads it to the end without ever answering.
final class SilentDaemon {
    let path: String
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(descriptor, 256) == 0 else {
            close(descriptor)
            throw NSError(domain: "SilentDaemon", code: Int(errno))
        }
        let listener = descriptor
        Thread {
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }  // closed by deinit
                Thread {
                    var buffer = [UInt8](repeating: 0, count: 1 << 16)
                    while buffer.withUnsafeMutableBytes({ read(connection, $0.baseAddress, $0.count) }) > 0 {}
                    close(connection)
                }.start()
            }
        }.start()
    }

    deinit {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
        unlink(path)
    }
}

final class UploadFloodBenchmark: XCTestCase {
    func testSixtyConcurrentNineMegabyteUploadsToASilentDaemonStayWithinTheBudget() throws {
        guard ProcessInfo.processInfo.environment["OFAD_BENCHMARK"] == "1" else {
            throw XCTSkip("SKIPPED: benchmark; set OFAD_BENCHMARK=1")
        }
        let binary = try ProcessInfo.processInfo.environment["OFA_WEB_BINARY"] ?? executable("ofa-web")
        print("FLOOD | ofa-web: \(binary)")
        let directory = "/tmp/ofa-web-flood-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try SilentDaemon(path: directory + "/ofad.sock")
        let port = freePort()
        let budget = 64 * 1024 * 1024  // ofa-web's default --max-bytes-in-flight, given here so the bound is explicit
        let web = Process()
        web.executableURL = URL(fileURLWithPath: binary)
        web.arguments = [
            "--port", "\(port)", "--socket", daemon.path, "--log-level", "error", "--max-bytes-in-flight", "\(budget)",
            "--max-upload-bytes", "\(16 * 1024 * 1024)", "--request-timeout", "600",
        ]
        try web.run()
        defer {
            web.terminate()
            web.waitUntilExit()
        }
        XCTAssertTrue(waitUntil(timeout: 20) { (try? HTTPTestConnection(port: port, timeout: 1)) != nil })

        // 9.4 MB: the base64 of a ≈ 7 MB photo, as the page sends it.
        let length = 9_400_000
        let upload = UploadBudgetTests.upload(length: length)
        let clients = 60
        let lock = NSLock()
        var refused = 0
        var held = 0
        var other: [String] = []
        var slowestRefusal = 0.0
        var connections: [HTTPTestConnection] = []  // the held ones stay open until the end
        let start = Date()
        runConcurrently(clients) { _, ready in
            guard let connection = try? HTTPTestConnection(port: port, timeout: 8) else {
                return lock.withLock { other.append("no connection") }
            }
            ready()
            let sent = Date()
            connection.send(upload.head)
            connection.send(upload.body)  // stops early when a refusal closes the connection
            let reply = connection.receive()
            let waited = Date().timeIntervalSince(sent)
            // No answer within 8 s and still open: the upload was taken and waits on ofad.
            let open = reply == nil && !connection.isClosedByServer()
            lock.withLock {
                switch reply?.status {
                case nil where open:
                    held += 1
                    connections.append(connection)
                case nil:
                    other.append("closed without an answer")
                case 503 where reply?.errorKind == "busy" && reply?.headers["retry-after"] != nil:
                    refused += 1
                    slowestRefusal = max(slowestRefusal, waited)
                case let status:
                    other.append("\(status.map(String.init) ?? "?") \(reply?.errorKind ?? "")")
                }
            }
        }
        let seconds = Date().timeIntervalSince(start)
        let settled = processMemoryMiB(web.processIdentifier, "VmRSS")
        let highWater = processMemoryMiB(web.processIdentifier, "VmHWM")  // the kernel's peak, not a sample

        XCTAssertEqual(other, [], "every upload is either held (waiting on the daemon) or refused 503 busy")
        XCTAssertEqual(held + refused, clients)
        XCTAssertGreaterThan(held, 0, "the budget lets uploads through")
        XCTAssertLessThanOrEqual(held * length, budget, "uploads held never pass --max-bytes-in-flight")
        // Each held upload is in memory a few times over (the received body, its JSON text, the decoded image, the
        // frame to ofad): bound it by 5 × the budget, the process itself included.
        let bound = 5.0 * Double(budget) / 1_048_576
        XCTAssertLessThan(highWater, bound)
        XCTAssertLessThan(slowestRefusal, 8, "refusals come from the Content-Length, before the body is read")
        XCTAssertEqual(try httpRequest(port: port, path: "/api/config").status, 200, "ofa-web still answers")
        print(
            "FLOOD | \(clients) × \(String(format: "%.1f", Double(length) / 1e6)) MB uploads to a silent daemon in "
                + "\(String(format: "%.1f", seconds)) s: \(held) held, \(refused) refused 503 (slowest "
                + "\(String(format: "%.2f", slowestRefusal)) s), peak RSS \(Int(highWater)) MiB (bound \(Int(bound)) "
                + "MiB, budget \(budget / 1_048_576) MiB), \(Int(settled)) MiB after")
        withExtendedLifetime(connections) {}
    }
}

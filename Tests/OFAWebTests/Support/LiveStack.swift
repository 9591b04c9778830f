// The real thing: the built ofad on the tiny-a fixture model and the built ofa-web in front of it, as processes.
import Foundation
import OFAWire
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// The repository root (three levels above this file).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

var productsDirectory: URL {
    // On Linux the bundle URL is already the products folder; elsewhere it is the .xctest inside it.
    let bundle = Bundle(for: LiveStack.self).bundleURL
    return bundle.pathExtension == "xctest" ? bundle.deletingLastPathComponent() : bundle
}

func executable(_ name: String) throws -> String {
    let path = productsDirectory.appendingPathComponent(name).path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw XCTSkip("SKIPPED: \(name) is not built at \(path) (run swift build first)")
    }
    return path
}

func requireTool(_ name: String, package: String) throws -> String {
    for directory in ["/usr/bin", "/bin", "/usr/local/bin", "/usr/lib/chromium"] {
        let path = directory + "/" + name
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    throw XCTSkip("SKIPPED: \(name) is not installed (Debian package \(package); see .ci/packages)")
}

/// A TCP port nothing listens on right now.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            _ = bind(fd, pointer, length)
            return getsockname(fd, pointer, &length)
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date(timeIntervalSinceNow: timeout)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return condition()
}

final class LiveStack {
    static let modelDirectory = repositoryRoot + "/Tests/Fixtures/models/tiny-a"

    static func image(_ name: String) -> String { repositoryRoot + "/Tests/Fixtures/pipeline/images/" + name }

    let directory: String
    let socketPath: String
    let port: Int
    private var processes: [Process] = []

    /// Starts ofad and waits until it is ready, then ofa-web on a free loopback port.
    init(extraWebArguments: [String] = []) throws {
        let ofad = try executable("ofad")
        let web = try executable("ofa-web")
        directory = "/tmp/ofa-web-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        socketPath = directory + "/ofad.sock"
        port = freePort()
        try launch(ofad, ["--model-dir", Self.modelDirectory, "--threads", "1", "--socket", socketPath])
        let ready = waitUntil(timeout: 60) {
            (try? WireClient(socketPath: socketPath).call(Method.health, as: HealthResult.self).state) == .ready
        }
        guard ready else { throw XCTSkip("ofad did not become ready on the tiny-a model") }
        try launch(web, ["--port", "\(port)", "--socket", socketPath, "--log-level", "warning"] + extraWebArguments)
        let serving = waitUntil(timeout: 20) { (try? httpRequest(port: self.port, path: "/api/config"))?.status == 200 }
        XCTAssertTrue(serving, "ofa-web answers on port \(port)")
    }

    func launch(_ path: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        processes.append(process)
    }

    /// Asks ofad directly, as the page's numbers must match.
    func daemon() throws -> WireClient { try WireClient(socketPath: socketPath) }

    /// Whether this ofad has the render method (an empty call is refused for its params, not as unknown).
    func daemonRenders() throws -> Bool {
        do {
            _ = try daemon().call("render", params: [:])
        } catch let error as RPCError {
            return error.code != RPCErrorCode.methodNotFound
        }
        return true
    }

    /// Stops ofad (started first); ofa-web keeps running.
    func stopDaemon() {
        guard let daemon = processes.first, daemon.isRunning else { return }
        daemon.terminate()
        daemon.waitUntilExit()
    }

    func stop() {
        for process in processes.reversed() where process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        processes.removeAll()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }
}

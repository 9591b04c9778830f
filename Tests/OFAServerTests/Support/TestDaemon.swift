// Starts a Daemon with the fake engine on a temporary socket, and speaks to it.
import Foundation
import ImageIO
import Logging
import OFAServer
import OFAWire
import XCTest

final class TestDaemon {
    let directory: String
    let socketPath: String
    let engine: FakeEngine
    let daemon: Daemon
    /// systemd's variables for this daemon, set in the process environment while it lives.
    private let environment: ProcessEnvironment

    /// A small test image.
    static let image = grayPNG(width: 8, height: 8) { x, y in UInt8(x * 16 + y) }

    init(
        engine: FakeEngine = FakeEngine(), environment: [String: String] = [:],
        loader: EngineLoader? = nil, waitUntilReady: Bool = true,
        configure: (inout DaemonConfiguration) -> Void = { _ in }
    ) throws {
        directory = try makeTemporaryDirectory()
        socketPath = directory + "/ofad.sock"
        self.engine = engine
        self.environment = ProcessEnvironment(environment.mapValues { $0 })
        var configuration = DaemonConfiguration()
        configuration.socketPath = socketPath
        configuration.modelDirectory = directory
        configuration.threads = 1
        configure(&configuration)
        var logger = Logger(label: "ofad-test")
        logger.logLevel = .warning
        daemon = Daemon(configuration: configuration, loader: loader ?? { [engine] _ in engine }, logger: logger)
        try daemon.start()
        if waitUntilReady { try waitForState(.ready) }
    }

    deinit {
        daemon.shutdown()
        environment.restore()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func client() throws -> WireClient { try WireClient(socketPath: socketPath) }

    func health() throws -> HealthResult { try client().call(Method.health, as: HealthResult.self) }

    func waitForState(_ state: HealthState, timeout: Double = 10) throws {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if let health = try? health(), health.state == state { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTFail("daemon did not reach \(state)")
    }

    static func predictParams(_ hypotheses: [String], image: [UInt8] = TestDaemon.image, premise: String? = nil)
        -> JSONValue
    {
        try! JSONValue(
            encoding: PredictParams(image: ImageInput(bytes: image), hypotheses: hypotheses, premise: premise))
    }
}

/// A PNG of `width`×`height` gray pixels from `pixel(x, y)`.
func grayPNG(width: Int, height: Int, pixel: (Int, Int) -> UInt8) -> [UInt8] {
    var pixels: [UInt8] = []
    for y in 0..<height {
        for x in 0..<width { pixels += [UInt8](repeating: pixel(x, y), count: 3) }
    }
    return try! PNGEncoder.encode(RGBImage(width: width, height: height, pixels: pixels))
}

func makeTemporaryDirectory() throws -> String {
    // Short paths: a Unix socket path must fit in 108 bytes.
    let path = "/tmp/ofad-test-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Raw socket access for malformed-input tests.
extension WireClient {
    func sendRaw(_ bytes: [UInt8]) throws { try socket.write(bytes) }

    /// Reads the next response, or nil when the daemon closed the connection.
    func receiveOrClose() throws -> RPCResponse? {
        guard let frame = try receiveFrame() else { return nil }
        return try RPCResponse.parse(frame)
    }
}

/// Where `swift build` put the executables (next to the test bundle).
var productsDirectory: URL {
    // On Linux the bundle URL is already the products folder; elsewhere it is the .xctest inside it.
    let bundle = Bundle(for: TestDaemon.self).bundleURL
    return bundle.pathExtension == "xctest" ? bundle.deletingLastPathComponent() : bundle
}

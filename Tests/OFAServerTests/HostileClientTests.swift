// Hostile clients (issue 12): crafted images, lost answers, clients that never read, idle and slow connections,
// one user taking every slot, and ids beyond Int64. Each case once crashed ofad, lost an answer or held memory
// or connections without bound; now each gets an answer or a close and the daemon stays healthy.
import FixtureSupport
import Foundation
import OFAServer
import OFAWire
import XCTest

final class HostileClientTests: XCTestCase {
    func testAPNGDeclaringFourBillionSquaredPixelsIsRefusedByDataAndByPathAndTheDaemonLives() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bytes = try Fixtures.hostileBytes("png-declares-4294967295-squared.png")
        try Data(bytes).write(to: URL(fileURLWithPath: root + "/huge.png"))
        let server = try TestDaemon { $0.imageRoots = [root] }
        let client = try server.client()
        XCTAssertThrowsError(try client.call(Method.predict, params: TestDaemon.predictParams(["a cat"], image: bytes)))
        {
            XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.inputTooLarge, "\($0)")
        }
        let byPath = try JSONValue(
            encoding: PredictParams(image: ImageInput(path: root + "/huge.png"), hypotheses: ["a cat"]))
        XCTAssertThrowsError(try client.call(Method.predict, params: byPath)) {
            XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.inputTooLarge, "\($0)")
        }
        XCTAssertEqual(try server.health().state, .ready)
    }

    func testEveryRequestReceivedWholeIsAnsweredBeforeAnOversizedHeaderClosesTheConnection() throws {
        let server = try TestDaemon { $0.maximumFrameLength = 4096 }
        server.engine.delay = 0.2
        let client = try server.client()
        var bytes: [UInt8] = []
        for id in 1...5 {
            let request = RPCRequest(
                id: .integer(Int64(id)), method: id == 3 ? Method.predict : Method.health,
                params: id == 3 ? TestDaemon.predictParams(["a cat"]) : nil)
            bytes += FrameCoder.encode(request.json.serialized())
        }
        // All in one write: five whole requests, then a header announcing more than the limit.
        try client.sendRaw(bytes + FrameCoder.header(length: 1 << 20))
        var answered: [JSONValue] = []
        var last: RPCResponse?
        while let response = try client.receiveOrClose() {
            if response.id == .null { last = response } else { answered.append(response.id) }
        }
        XCTAssertEqual(Set(answered), Set((1...5).map { JSONValue.integer(Int64($0)) }))
        XCTAssertEqual(last?.error?.code, RPCErrorCode.inputTooLarge)
    }

    func testARequestBeforeATruncatedTailAndAHalfCloseIsStillAnswered() throws {
        let server = try TestDaemon()
        server.engine.delay = 0.2
        let client = try server.client()
        let request = RPCRequest(id: "first", method: Method.predict, params: TestDaemon.predictParams(["a cat"]))
        try client.sendRaw(FrameCoder.encode(request.json.serialized()) + FrameCoder.header(length: 100) + [0x7b])
        client.socket.finishWriting()
        let first = try XCTUnwrap(client.receiveOrClose())
        XCTAssertEqual(first.id, "first")
        XCTAssertNil(first.error)
        XCTAssertEqual(try client.receiveOrClose()?.error?.code, RPCErrorCode.parseError)
        XCTAssertNil(try client.receiveOrClose())
    }

    func testAClientThatNeverReadsItsAnswersIsNoLongerReadFrom() throws {
        let server = try TestDaemon { $0.maximumUnsentBytes = 16 << 10 }
        let client = try server.client()
        let count = 40_000
        let frame = FrameCoder.encode(RPCRequest(id: 1, method: Method.health).json.serialized())
        let bytes = Array([[UInt8]](repeating: frame, count: count).joined())
        let sent = DispatchSemaphore(value: 0)
        let writer = Thread {
            try? client.sendRaw(bytes)
            sent.signal()
        }
        writer.start()
        // ofad stops reading once its unsent answers pass the bound, so the client's write cannot finish.
        XCTAssertEqual(sent.wait(timeout: .now() + 2), .timedOut, "ofad kept reading from a client that never reads")
        XCTAssertEqual(try server.health().state, .ready, "other clients are still served")
        var answers = 0
        while answers < count, try client.receiveOrClose() != nil { answers += 1 }
        XCTAssertEqual(answers, count, "every request is answered once the client reads")
        XCTAssertEqual(sent.wait(timeout: .now() + 10), .success)
    }

    func testAnIdleConnectionIsClosedAfterTheIdleTimeout() throws {
        let server = try TestDaemon { $0.idleTimeoutSeconds = 0.3 }
        let idle = try server.client()
        let busy = try server.client()
        XCTAssertNoThrow(try busy.call(Method.health))
        XCTAssertTrue(closed(idle.socket, within: 5))
        XCTAssertEqual(try server.health().state, .ready)
    }

    func testAConnectionWaitingForAnAnswerIsNotIdle() throws {
        let server = try TestDaemon { $0.idleTimeoutSeconds = 0.3 }
        server.engine.delay = 1.0
        let client = try server.client()
        let answer = try client.call(Method.predict, params: TestDaemon.predictParams(["a cat"]))
        XCTAssertNotNil(answer["predictions"])
    }

    func testAFrameThatArrivesTooSlowlyIsAnsweredTimedOutAndClosed() throws {
        let server = try TestDaemon {
            $0.frameTimeoutSeconds = 0.3
            $0.idleTimeoutSeconds = 60
        }
        let client = try server.client()
        // One byte at a time, slower than the frame may take.
        let frame = FrameCoder.encode(RPCRequest(id: 1, method: Method.health).json.serialized())
        let start = Date()
        var refused: RPCResponse?
        for byte in frame.prefix(12) {
            guard (try? client.sendRaw([byte])) != nil else { break }
            Thread.sleep(forTimeInterval: 0.1)
            if try socketIsReadable(client.socket) {
                refused = try client.receiveOrClose()
                break
            }
        }
        if refused == nil { refused = try client.receiveOrClose() }
        XCTAssertEqual(refused?.error?.code, RPCErrorCode.timedOut)
        XCTAssertTrue(refused?.error?.message.contains("not received within") == true, "\(String(describing: refused))")
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertNil(try client.receiveOrClose())
    }

    func testOneUserCannotTakeMoreThanItsShareOfConnections() throws {
        let server = try TestDaemon {
            $0.maximumConnections = 10
            $0.maximumConnectionsPerUser = 2
        }
        let first = try server.client()
        let second = try server.client()
        XCTAssertNoThrow(try first.call(Method.health))
        XCTAssertNoThrow(try second.call(Method.health))
        let third = try server.client()
        let refusal = try XCTUnwrap(third.receiveOrClose())
        XCTAssertEqual(refusal.error?.code, RPCErrorCode.serverBusy)
        XCTAssertTrue(refusal.error?.message.contains("from user \(getuid())") == true, "\(refusal)")
        XCTAssertNil(try third.receiveOrClose())
        XCTAssertNoThrow(try first.call(Method.health))
    }

    func testAnIdBeyondInt64ComesBackDigitForDigit() throws {
        let server = try TestDaemon()
        let client = try server.client()
        let id = "123456789012345678901234567890"
        try client.sendFrame(Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"health"}"#.utf8))
        let body = try XCTUnwrap(client.receiveFrame())
        XCTAssertTrue(String(decoding: body, as: UTF8.self).contains(#""id":\#(id),"#))
        try client.sendFrame(Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"nope"}"#.utf8))
        let refused = try XCTUnwrap(client.receiveFrame())
        XCTAssertTrue(String(decoding: refused, as: UTF8.self).contains(#""id":\#(id),"#))
    }

    func testTheSocketFileIsNeverOpenToOthersEvenUnderUmaskZero() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/ofad.sock"
        // A watcher stats the path as fast as it can while the daemon binds, recording every mode it sees.
        let seen = ModeLog()
        let stop = DispatchSemaphore(value: 0)
        let watcher = Thread {
            while stop.wait(timeout: .now()) == .timedOut {
                var info = stat()
                if stat(path, &info) == 0 { seen.add(info.st_mode & 0o777) }
            }
        }
        watcher.start()
        let previous = umask(0)
        var configuration = DaemonConfiguration()
        configuration.socketPath = path
        configuration.modelDirectory = directory
        let daemon = Daemon(configuration: configuration, loader: { _ in FakeEngine() }, logger: .init(label: "test"))
        try daemon.start()
        let restored = umask(previous)
        Thread.sleep(forTimeInterval: 0.05)
        stop.signal()
        daemon.shutdown()
        XCTAssertFalse(seen.modes.isEmpty)
        XCTAssertEqual(seen.modes, [0o660], "modes seen: \(seen.modes.map { String($0, radix: 8) })")
        XCTAssertEqual(restored, 0, "the daemon restores the umask it found")
    }
}

/// The distinct file modes a watcher saw.
private final class ModeLog: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: Set<mode_t> = []
    func add(_ mode: mode_t) { lock.withLock { _ = seen.insert(mode) } }
    var modes: Set<mode_t> { lock.withLock { seen } }
}

/// Whether bytes (or the end of the stream) can be read now.
func socketIsReadable(_ socket: UnixSocket) throws -> Bool {
    var entry = pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0)
    return poll(&entry, 1, 0) > 0
}

/// Whether the peer closes the connection within `seconds` (anything that arrives first is read and dropped).
func closed(_ socket: UnixSocket, within seconds: Double) -> Bool {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while Date() < deadline {
        var entry = pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
        guard poll(&entry, 1, milliseconds) > 0 else { continue }
        guard let bytes = try? socket.read(), !bytes.isEmpty else { return true }
    }
    return false
}

// Timeouts: a request whose head or body has not arrived within the request timeout of its first byte gets 408 and
// is closed (slowloris); a keep-alive connection idle past the idle timeout is closed; neither cuts a request that
// is waiting on the daemon.
import Foundation
import OFAWeb
import XCTest

final class TimeoutTests: XCTestCase {
    func testAStalledHeadGets408AndIsClosedAfterTheRequestTimeout() throws {
        let web = try TestWebServer(gateway: RecordingGateway()) {
            $0.requestTimeout = 0.3
            $0.idleTimeout = 30
        }
        let connection = try HTTPTestConnection(port: web.port, timeout: 5)
        let started = Date()
        connection.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  // and never the rest
        let reply = try XCTUnwrap(connection.receive(), "answered before the client's own 5 s timeout")
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(reply.status, 408)
        XCTAssertEqual(reply.errorKind, "request_timeout")
        XCTAssertEqual(reply.headers["connection"], "close")
        XCTAssertTrue(connection.isClosedByServer())
        XCTAssertGreaterThanOrEqual(elapsed, 0.25)
        XCTAssertLessThan(elapsed, 3)
    }

    func testAHeadTrickledByteByByteIsCutAtTheRequestTimeoutFromItsFirstByte() throws {
        let web = try TestWebServer(gateway: RecordingGateway()) {
            $0.requestTimeout = 0.5
            $0.idleTimeout = 30
        }
        let connection = try HTTPTestConnection(port: web.port, timeout: 5)
        let started = Date()
        // A byte every 0.05 s for twice the timeout keeps the connection busy but never completes the head.
        for byte in "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8 {
            guard Date().timeIntervalSince(started) < 1 else { break }
            connection.send([byte])
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertEqual(connection.receive()?.status, 408)
        XCTAssertTrue(connection.isClosedByServer())
    }

    func testAStalledBodyGets408AndIsClosed() throws {
        let web = try TestWebServer(gateway: RecordingGateway()) {
            $0.requestTimeout = 0.3
            $0.idleTimeout = 30
        }
        let connection = try HTTPTestConnection(port: web.port, timeout: 5)
        connection.send(
            "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: 100\r\n\r\n{\"image\":")
        XCTAssertEqual(connection.receive()?.status, 408)
        XCTAssertTrue(connection.isClosedByServer())
    }

    func testAnIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() throws {
        let web = try TestWebServer(gateway: RecordingGateway()) {
            $0.idleTimeout = 0.3
            $0.requestTimeout = 30
        }
        let connection = try HTTPTestConnection(port: web.port, timeout: 5)
        connection.send("GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let reply = connection.receive()
        XCTAssertEqual(reply?.status, 200)
        XCTAssertEqual(reply?.headers["connection"], "keep-alive")
        let answered = Date()
        XCTAssertTrue(connection.isClosedByServer(), "closed before the client's own 5 s timeout")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(answered), 0.25)

        let silent = try HTTPTestConnection(port: web.port, timeout: 5)
        XCTAssertTrue(silent.isClosedByServer(), "a connection that never asks is idle too")
    }

    func testNeitherTimeoutCutsPipelinedRequestsWaitingOnTheDaemon() throws {
        let gateway = GatedGateway()
        let web = try TestWebServer(gateway: gateway) {
            $0.idleTimeout = 0.2
            $0.requestTimeout = 0.2
        }
        web.beforeShutdown = gateway.openGate  // the server waits for the held calls as it stops
        let connection = try HTTPTestConnection(port: web.port, timeout: 5)
        let body = #"{"image":"iVBORw0=","hypothesis":"a cat"}"#
        let request =
            "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        connection.send(request + request)
        XCTAssertTrue(waitUntil(timeout: 5) { gateway.arrivals == 1 })
        Thread.sleep(forTimeInterval: 0.6)  // three times either timeout
        gateway.letOneThrough()
        XCTAssertEqual(connection.receive()?.status, 200)
        // The second came in as the first was answered, with no bytes of its own left to read.
        XCTAssertTrue(waitUntil(timeout: 5) { gateway.arrivals == 2 })
        Thread.sleep(forTimeInterval: 0.6)
        gateway.openGate()
        XCTAssertEqual(connection.receive()?.status, 200)
    }
}

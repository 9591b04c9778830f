// The connection limit: past it a new connection is answered 503 (busy, Retry-After) and closed at once, while the
// connections already open keep working; a closed one frees its place.
import OFAWeb
import XCTest

final class ConnectionLimitTests: XCTestCase {
    func testAConnectionPastTheLimitIsRefusedWhileTheOpenOnesStillWork() throws {
        let web = try TestWebServer(gateway: RecordingGateway()) { $0.maximumConnections = 2 }
        let first = try HTTPTestConnection(port: web.port, timeout: 5)
        var second: HTTPTestConnection? = try HTTPTestConnection(port: web.port, timeout: 5)
        for connection in [first, second!] {
            connection.send("GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            XCTAssertEqual(connection.receive()?.status, 200, "admitted")
        }

        // The refusal comes unasked, before any request is read.
        let third = try HTTPTestConnection(port: web.port, timeout: 5)
        let refusal = try XCTUnwrap(third.receive(), "refused with an answer")
        XCTAssertEqual(refusal.status, 503)
        XCTAssertEqual(refusal.errorKind, "busy")
        XCTAssertTrue(refusal.text.contains("(2)"), refusal.text)
        XCTAssertNotNil(refusal.headers["retry-after"])
        XCTAssertEqual(refusal.headers["connection"], "close")
        XCTAssertTrue(third.isClosedByServer())

        first.send("GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        XCTAssertEqual(first.receive()?.status, 200, "an open connection still works")

        second = nil
        let admittedAgain = waitUntil(timeout: 5) {
            guard let connection = try? HTTPTestConnection(port: web.port, timeout: 5) else { return false }
            connection.send("GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            return connection.receive()?.status == 200
        }
        XCTAssertTrue(admittedAgain, "a closed connection frees its place")
    }
}

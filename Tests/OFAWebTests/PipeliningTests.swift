// Pipelined requests: requests sent back to back on one keep-alive connection are all answered, in order; where the
// connection cannot go on (a protocol switch asked for, a request refused before its body), the answer comes and the
// connection closes cleanly, never leaving the next request waiting.
import OFAWeb
import OFAWire
import XCTest

final class PipeliningTests: XCTestCase {
    func testTwoRequestsSentBackToBackAreBothAnsweredInOrder() throws {
        let gateway = RecordingGateway(answers: [Method.predict: .success(["predictions": []])])
        let web = try TestWebServer(gateway: gateway)
        let connection = try HTTPTestConnection(port: web.port, timeout: 5)
        let body = #"{"image":"iVBORw0=","hypothesis":"a cat"}"#
        connection.send(
            "GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                + "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
                + "GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let first = try XCTUnwrap(connection.receive(), "the first answer")
        XCTAssertEqual(first.status, 200)
        XCTAssertNotNil(first.json["max_upload_bytes"], first.text)
        let second = try XCTUnwrap(connection.receive(), "the second answer")
        XCTAssertEqual(second.status, 200, second.text)
        XCTAssertNotNil(second.json["predictions"], second.text)
        let third = try XCTUnwrap(connection.receive(), "the third answer")
        XCTAssertEqual(third.status, 404)
        XCTAssertEqual(gateway.calls.map(\.method), [Method.predict])
    }

    func testARequestAskingToSwitchProtocolsIsAnsweredAndClosedSoNoPipelinedRequestWaits() throws {
        let web = try TestWebServer(gateway: RecordingGateway())
        for first in [
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "CONNECT 127.0.0.1:7860 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        ] {
            let connection = try HTTPTestConnection(port: web.port, timeout: 5)
            connection.send(first + "GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let reply = try XCTUnwrap(connection.receive(), first)
            XCTAssertEqual(reply.headers["connection"], "close", first)
            XCTAssertTrue(connection.isClosedByServer(), "closed rather than left waiting: \(first)")
        }
    }

    func testARequestRefusedBeforeItsBodyIsAnsweredAndClosedWithoutAReset() throws {
        let web = try TestWebServer(gateway: RecordingGateway()) { $0.maximumBodyBytes = 4096 }
        let connection = try HTTPTestConnection(port: web.port, timeout: 5)
        // The whole body and a second request follow at once; the server reads none of them but must not reset.
        connection.send(
            "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: 100000\r\n\r\n" + String(repeating: "x", count: 100_000)
                + "GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        XCTAssertEqual(connection.receive()?.status, 413)
        XCTAssertTrue(connection.isClosedByServer(), "an orderly close, not a reset")
    }
}

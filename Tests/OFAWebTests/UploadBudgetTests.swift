// The budget of request body bytes in flight, all connections together: a request that would pass it is answered
// 503 (busy, Retry-After) from its Content-Length before its body is read, and the budget is given back when a
// request is answered or its connection closes.
import Foundation
import OFAWeb
import XCTest

final class UploadBudgetTests: XCTestCase {
    /// A predict request whose whole message is `length` bytes of body.
    static func upload(length: Int) -> (head: String, body: [UInt8]) {
        let frame = #"{"hypothesis":"a cat","image":""}"#.utf8.count
        let image = String(repeating: "A", count: (length - frame) / 4 * 4)  // whole base64 quads
        let hypothesis = "a cat" + String(repeating: " ", count: (length - frame) % 4)
        let body = Array(#"{"hypothesis":"\#(hypothesis)","image":"\#(image)"}"#.utf8)
        precondition(body.count == length)
        return (
            "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(length)\r\n\r\n", body
        )
    }

    func testAnUploadPastTheBudgetIsRefusedBeforeItsBodyWhileOthersAreHeldAndAcceptedAfter() throws {
        let gateway = GatedGateway()
        let web = try TestWebServer(gateway: gateway) {
            $0.maximumBodyBytes = 4096
            $0.maximumBytesInFlight = 8192
        }
        web.beforeShutdown = gateway.openGate  // the server waits for the held calls as it stops
        let upload = Self.upload(length: 3000)
        let held = try (0..<2).map { _ in try HTTPTestConnection(port: web.port, timeout: 5) }
        for connection in held {
            connection.send(upload.head)
            connection.send(upload.body)
        }
        XCTAssertTrue(waitUntil(timeout: 5) { gateway.arrivals == 2 }, "two uploads wait on the daemon")

        let refused = try HTTPTestConnection(port: web.port, timeout: 5)
        refused.send(upload.head)  // only the head: 3000 more would pass 8192
        let reply = try XCTUnwrap(refused.receive(), "answered before the body was sent")
        XCTAssertEqual(reply.status, 503)
        XCTAssertEqual(reply.errorKind, "busy")
        XCTAssertNotNil(reply.headers["retry-after"])
        XCTAssertEqual(reply.headers["connection"], "close")
        XCTAssertTrue(refused.isClosedByServer())
        XCTAssertEqual(gateway.arrivals, 2)

        gateway.openGate()
        for connection in held { XCTAssertEqual(connection.receive()?.status, 200) }
        for _ in 0..<3 {
            let again = try HTTPTestConnection(port: web.port, timeout: 5)
            again.send(upload.head)
            again.send(upload.body)
            XCTAssertEqual(again.receive()?.status, 200, "the answered uploads gave their bytes back")
        }
    }

    func testAChunkedUploadIsRefusedWhenItGrowsPastTheBudget() throws {
        let gateway = GatedGateway()
        let web = try TestWebServer(gateway: gateway) {
            $0.maximumBodyBytes = 4096
            $0.maximumBytesInFlight = 4096
        }
        web.beforeShutdown = gateway.openGate  // the server waits for the held calls as it stops
        let upload = Self.upload(length: 3000)
        let held = try HTTPTestConnection(port: web.port, timeout: 5)
        held.send(upload.head)
        held.send(upload.body)
        XCTAssertTrue(waitUntil(timeout: 5) { gateway.arrivals == 1 })

        let chunked = try HTTPTestConnection(port: web.port, timeout: 5)
        chunked.send(
            "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n")
        chunked.send("7d0\r\n\(String(repeating: " ", count: 2000))\r\n")  // 3000 + 2000 > 4096
        let reply = chunked.receive()
        XCTAssertEqual(reply?.status, 503)
        XCTAssertEqual(reply?.errorKind, "busy")
        gateway.openGate()
        XCTAssertEqual(held.receive()?.status, 200)
    }

    func testAnUploadWhoseConnectionClosesHalfwayGivesItsBytesBack() throws {
        let web = try TestWebServer(gateway: RecordingGateway(answers: ["predict": .success(["predictions": []])])) {
            $0.maximumBodyBytes = 4096
            $0.maximumBytesInFlight = 4096
        }
        let upload = Self.upload(length: 4000)
        var abandoned: HTTPTestConnection? = try HTTPTestConnection(port: web.port, timeout: 5)
        abandoned?.send(upload.head.replacingOccurrences(of: "\r\n\r\n", with: "\r\nExpect: 100-continue\r\n\r\n"))
        XCTAssertEqual(abandoned?.receiveContinue(), true, "its 4000 bytes are taken")
        abandoned?.send(Array(upload.body.prefix(100)))
        let whole = try HTTPTestConnection(port: web.port, timeout: 5)
        whole.send(upload.head)
        XCTAssertEqual(whole.receive()?.status, 503, "the abandoned upload holds the budget while it is open")

        abandoned = nil
        let acceptedAgain = waitUntil(timeout: 5) {
            guard let connection = try? HTTPTestConnection(port: web.port, timeout: 5) else { return false }
            connection.send(upload.head)
            connection.send(upload.body)
            return connection.receive()?.status == 200
        }
        XCTAssertTrue(acceptedAgain, "closing the connection gave its 4000 bytes back")
    }
}

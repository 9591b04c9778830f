// Limits ofa-web enforces itself: body size (before reading it), text length, content type, Host.
import OFAServer
import OFAWeb
import OFAWire
import XCTest

final class LimitsTests: XCTestCase {
    static let image = Array("\u{89}PNG fake image bytes".utf8)
    static var imageBase64: String { Data(image).base64EncodedString() }

    func testABodyDeclaredLargerThanTheLimitIsRefusedBeforeItIsRead() throws {
        let gateway = RecordingGateway()
        let web = try TestWebServer(gateway: gateway) { $0.maximumBodyBytes = 64 * 1024 }
        let connection = try HTTPTestConnection(port: web.port)
        // Only the head: the answer must come without waiting for the 10 MB it announces.
        connection.send(
            "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: 10000000\r\n\r\n")
        let reply = try XCTUnwrap(connection.receive(), "answered before the body was sent")
        XCTAssertEqual(reply.status, 413)
        XCTAssertEqual(reply.errorKind, "upload_too_large")
        XCTAssertTrue(reply.text.contains("9.5 MiB") && reply.text.contains("64 KiB"), reply.text)
        XCTAssertEqual(reply.headers["connection"], "close")
        XCTAssertTrue(connection.isClosedByServer())
        XCTAssertTrue(gateway.calls.isEmpty)
    }

    func testAChunkedBodyIsRefusedAsSoonAsItPassesTheLimit() throws {
        let gateway = RecordingGateway()
        let web = try TestWebServer(gateway: gateway) { $0.maximumBodyBytes = 4096 }
        let connection = try HTTPTestConnection(port: web.port)
        connection.send(
            "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n")
        let chunk = String(repeating: "x", count: 3000)
        connection.send("bb8\r\n\(chunk)\r\nbb8\r\n\(chunk)\r\n")  // 6000 bytes, no last chunk
        let reply = try XCTUnwrap(connection.receive())
        XCTAssertEqual(reply.status, 413)
        XCTAssertTrue(gateway.calls.isEmpty)
    }

    func testABodyWithinTheLimitIsAccepted() throws {
        let gateway = RecordingGateway(answers: [Method.predict: .success(["predictions": []])])
        let web = try TestWebServer(gateway: gateway) { $0.maximumBodyBytes = 4096 }
        let reply = try postJSON(
            port: web.port, path: "/api/predict", ["image": Self.imageBase64, "hypothesis": "a cat"])
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(gateway.calls.count, 1)
    }

    func testExpectContinueIsAnsweredSoTheBodyFollows() throws {
        let gateway = RecordingGateway(answers: [Method.predict: .success(["predictions": []])])
        let web = try TestWebServer(gateway: gateway)
        let body = Array(try JSONSerialization.data(withJSONObject: ["image": Self.imageBase64, "hypothesis": "a"]))
        let connection = try HTTPTestConnection(port: web.port)
        connection.send(
            "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Expect: 100-continue\r\nContent-Length: \(body.count)\r\n\r\n")
        connection.send(body)
        XCTAssertEqual(connection.receive()?.status, 200)
    }

    func testATextLongerThanTheLimitIsRefusedAndNotForwarded() throws {
        let gateway = RecordingGateway()
        let web = try TestWebServer(gateway: gateway) { $0.maximumTextLength = 10 }
        let long = try postJSON(
            port: web.port, path: "/api/predict", ["image": Self.imageBase64, "hypothesis": "a cat sits on a mat"])
        XCTAssertEqual(long.status, 422)
        XCTAssertEqual(long.errorKind, "text_too_long")
        XCTAssertTrue(long.text.contains("19 characters"), long.text)
        let premise = try postJSON(
            port: web.port, path: "/api/render",
            ["image": Self.imageBase64, "hypothesis": "a cat", "premise": String(repeating: "p", count: 11)])
        XCTAssertEqual(premise.status, 422)
        XCTAssertTrue(premise.text.contains("premise"))
        XCTAssertTrue(gateway.calls.isEmpty)
    }

    func testByDefaultTextUpToOfadsLimitIsForwardedAndItsBodyFits() throws {
        let limit = WebConfiguration().maximumTextLength
        XCTAssertEqual(limit, DaemonConfiguration().maximumTextLength, "ofad's own default")
        XCTAssertGreaterThanOrEqual(limit, 32 * 1024, "only abusive sizes are refused")
        let gateway = RecordingGateway(answers: [Method.predict: .success(["predictions": []])])
        let web = try TestWebServer(gateway: gateway)
        // Four UTF-8 bytes per character, in both texts: the most a page can send within the text limit.
        let longest = String(repeating: "😀", count: limit)
        for hypothesis in [String(repeating: "a dog runs ", count: 200), longest] {
            let reply = try postJSON(
                port: web.port, path: "/api/predict",
                ["image": Self.imageBase64, "hypothesis": hypothesis, "premise": longest])
            XCTAssertEqual(reply.status, 200, reply.text)
            XCTAssertEqual(gateway.calls.last?.params?["hypothesis"], .string(hypothesis))
        }
        let over = try postJSON(
            port: web.port, path: "/api/predict", ["image": Self.imageBase64, "hypothesis": longest + "😀"])
        XCTAssertEqual(over.status, 422)
        XCTAssertTrue(over.text.contains("\(limit + 1) characters (the limit is \(limit))"), over.text)
        XCTAssertEqual(gateway.calls.count, 2)
    }

    func testABodyThatIsNotJSONIsRefused() throws {
        let web = try TestWebServer(gateway: RecordingGateway())
        let form = try httpRequest(
            port: web.port, method: "POST", path: "/api/predict",
            headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Array("a=b".utf8))
        XCTAssertEqual(form.status, 415)
        let broken = try httpRequest(
            port: web.port, method: "POST", path: "/api/predict", headers: ["Content-Type": "application/json"],
            body: Array("{not json".utf8))
        XCTAssertEqual(broken.status, 400)
        XCTAssertEqual(broken.errorKind, "bad_request")
    }

    func testARequestNamingAnotherHostIsRefusedOnLoopback() throws {
        let web = try TestWebServer(gateway: RecordingGateway())
        let connection = try HTTPTestConnection(port: web.port)
        connection.send("GET / HTTP/1.1\r\nHost: attacker.example:\(web.port)\r\n\r\n")
        XCTAssertEqual(connection.receive()?.status, 421)
        for host in ["localhost:\(web.port)", "127.0.0.1", "[::1]:\(web.port)", "127.0.0.5:80"] {
            let connection = try HTTPTestConnection(port: web.port)
            connection.send("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n")
            XCTAssertEqual(connection.receive()?.status, 200, host)
        }
    }

    func testANonLoopbackAddressNeedsToBeAskedFor() {
        var configuration = WebConfiguration()
        configuration.host = "0.0.0.0"
        XCTAssertThrowsError(try configuration.validate()) { error in
            XCTAssertTrue("\(error)".contains("--allow-remote"), "\(error)")
        }
        configuration.allowRemote = true
        XCTAssertNoThrow(try configuration.validate())
        configuration.host = "127.0.0.1"
        configuration.allowRemote = false
        XCTAssertNoThrow(try configuration.validate())
    }

    func testOneBrokenConnectionDoesNotStopTheServer() throws {
        let web = try TestWebServer(gateway: RecordingGateway())
        let garbage = try HTTPTestConnection(port: web.port)
        garbage.send("\u{01}\u{02} NOT HTTP\r\n\r\n")
        _ = garbage.receive()
        XCTAssertEqual(try httpRequest(port: web.port, path: "/").status, 200)
    }
}

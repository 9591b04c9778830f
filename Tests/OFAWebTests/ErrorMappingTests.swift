// Every daemon failure becomes an HTTP status, a `kind` the page switches on, and a message for a person.
import OFAWeb
import OFAWire
import XCTest

final class ErrorMappingTests: XCTestCase {
    func reply(for error: WebError) throws -> HTTPReply {
        let gateway = RecordingGateway(answers: [Method.predict: .failure(error)])
        let web = try TestWebServer(gateway: gateway)
        return try postJSON(
            port: web.port, path: "/api/predict", ["image": LimitsTests.imageBase64, "hypothesis": "a"])
    }

    func testEachDaemonErrorHasItsStatusAndKind() throws {
        let cases: [(Int, JSONValue?, Int, String)] = [
            (RPCErrorCode.modelNotReady, "loading", 503, "loading"),
            (RPCErrorCode.modelNotReady, "failed", 503, "model_failed"),
            (RPCErrorCode.serverBusy, nil, 503, "busy"),
            (RPCErrorCode.shuttingDown, nil, 503, "shutting_down"),
            (RPCErrorCode.timedOut, nil, 504, "timed_out"),
            (RPCErrorCode.imageUndecodable, nil, 422, "image_rejected"),
            (RPCErrorCode.inputTooLarge, nil, 413, "input_too_large"),
            (RPCErrorCode.invalidParams, nil, 400, "bad_request"),
            (RPCErrorCode.methodNotFound, nil, 501, "not_supported"),
            (RPCErrorCode.internalError, nil, 502, "daemon_error"),
        ]
        for (code, data, status, kind) in cases {
            let reply = try reply(for: .daemon(RPCError(code: code, message: "detail \(code)", data: data)))
            XCTAssertEqual(reply.status, status, "\(code)")
            XCTAssertEqual(reply.errorKind, kind, "\(code)")
            let message = (reply.json["error"] as? [String: Any])?["message"] as? String ?? ""
            XCTAssertFalse(message.isEmpty, "\(code)")
        }
    }

    func testAnUndecodableImageSaysWhichFormatsWork() throws {
        let reply = try reply(for: .daemon(RPCError(code: RPCErrorCode.imageUndecodable, message: "not a PNG or JPEG")))
        XCTAssertTrue(reply.text.contains("rejected") && reply.text.contains("PNG or JPEG"), reply.text)
    }

    func testADaemonThatIsNotRunningIsServiceUnavailableWithRetryAfter() throws {
        let web = try TestWebServer(gateway: SocketGateway(socketPath: "/nonexistent/ofad.sock"))
        let reply = try postJSON(
            port: web.port, path: "/api/predict", ["image": LimitsTests.imageBase64, "hypothesis": "a"])
        XCTAssertEqual(reply.status, 503)
        XCTAssertEqual(reply.errorKind, "daemon_down")
        XCTAssertEqual(reply.headers["retry-after"], "2")
    }

    func testLoadingIsRetryableButAFailedModelIsNot() {
        XCTAssertTrue(
            WebError.daemon(RPCError(code: RPCErrorCode.modelNotReady, message: "", data: "loading")).retryable)
        XCTAssertFalse(
            WebError.daemon(RPCError(code: RPCErrorCode.modelNotReady, message: "", data: "failed")).retryable)
    }
}

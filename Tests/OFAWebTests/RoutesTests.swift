// Routes: the page and its assets, the JSON API's paths and methods, status and config.
import OFAWeb
import OFAWire
import XCTest

final class RoutesTests: XCTestCase {
    static let statusResult: JSONValue = [
        "version": "0.1.0", "state": "ready", "model_directory": "/var/lib/ofad/tiny-a", "model_checksum": nil,
        "architecture": "OFA d=32, 2+3 layers, 4/8 heads, ffn 64/64, resnet18", "device": "cpu", "threads": 1,
        "model": [
            "d_model": 32, "encoder_layers": 2, "decoder_layers": 3, "encoder_heads": 4, "decoder_heads": 8,
            "encoder_ffn_dim": 64, "decoder_ffn_dim": 64, "resnet_type": "resnet18", "patch_image_size": 64,
            "patch_grid": ["rows": 4, "cols": 4], "answers": ["no", "yes", "maybe"], "vocab_size": 3172,
            "max_src_length": 256,
        ],
        "uptime_seconds": .number(1), "queue_depth": 0, "queue_capacity": 256, "connections": 1, "requests_served": 0,
        "requests_failed": 0, "latency": [:],
        "image_cache": ["entries": 0, "capacity": 1, "hits": 0, "misses": 0, "evictions": 0],
        "result_cache": ["entries": 0, "capacity": 1, "hits": 0, "misses": 0, "evictions": 0],
    ]

    func testThePageAndItsAssetsAreServedWithAPolicyThatAllowsOnlyThisServer() throws {
        let web = try TestWebServer(gateway: RecordingGateway())
        for (path, type) in [
            ("/", "text/html"), ("/assets/app.js", "text/javascript"), ("/assets/app.css", "text/css"),
            ("/favicon.svg", "image/svg+xml"),
        ] {
            let reply = try httpRequest(port: web.port, path: path)
            XCTAssertEqual(reply.status, 200, path)
            XCTAssertTrue(reply.headers["content-type"]?.hasPrefix(type) ?? false, path)
            XCTAssertFalse(reply.body.isEmpty, path)
            XCTAssertTrue(reply.headers["content-security-policy"]?.contains("default-src 'self'") ?? false, path)
            XCTAssertEqual(reply.headers["x-content-type-options"], "nosniff")
        }
    }

    func testThePageRefersToNoResourceOutsideThisServer() throws {
        let web = try TestWebServer(gateway: RecordingGateway())
        for path in ["/", "/assets/app.js", "/assets/app.css"] {
            let text = try httpRequest(port: web.port, path: path).text
            XCTAssertFalse(text.contains("http://") || text.contains("https://") || text.contains("//cdn"), path)
        }
        let html = try httpRequest(port: web.port, path: "/").text
        XCTAssertTrue(html.contains("src=\"/assets/app.js\""))
        XCTAssertTrue(html.contains("name=\"viewport\""), "the page is laid out for phones")
    }

    func testHEADAnswersTheHeadersWithoutABody() throws {
        let web = try TestWebServer(gateway: RecordingGateway())
        let connection = try HTTPTestConnection(port: web.port)
        connection.send(
            "HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\nGET /favicon.svg HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let head = try XCTUnwrap(connection.receive(bodyless: true))
        XCTAssertEqual(head.status, 200)
        XCTAssertGreaterThan(Int(head.headers["content-length"] ?? "0") ?? 0, 0)
        // The next answer on the same connection is the favicon, so HEAD sent no body.
        let next = try XCTUnwrap(connection.receive())
        XCTAssertEqual(next.headers["content-type"], "image/svg+xml")
    }

    func testAnUnknownPathIsAJSONNotFound() throws {
        let web = try TestWebServer(gateway: RecordingGateway())
        let reply = try httpRequest(port: web.port, path: "/etc/passwd")
        XCTAssertEqual(reply.status, 404)
        XCTAssertEqual(reply.errorKind, "not_found")
        XCTAssertEqual(try httpRequest(port: web.port, path: "/assets/../assets/app.js").status, 404)
    }

    func testAWrongMethodIsRefusedWithTheAllowedOnes() throws {
        let web = try TestWebServer(gateway: RecordingGateway())
        let get = try httpRequest(port: web.port, path: "/api/predict")
        XCTAssertEqual(get.status, 405)
        XCTAssertEqual(get.headers["allow"], "POST")
        let post = try httpRequest(port: web.port, method: "POST", path: "/", body: [])
        XCTAssertEqual(post.status, 405)
        XCTAssertEqual(post.headers["allow"], "GET, HEAD")
    }

    func testConfigTellsThePageItsLimits() throws {
        let web = try TestWebServer(gateway: RecordingGateway()) {
            $0.maximumBodyBytes = 4096
            $0.maximumTextLength = 77
        }
        let config = try httpRequest(port: web.port, path: "/api/config").json
        XCTAssertEqual(config["max_upload_bytes"] as? Int, 4096)
        XCTAssertEqual(config["max_text_length"] as? Int, 77)
        XCTAssertEqual(config["sources"] as? [String], ["cross", "encoder", "rollout", "relevance", "occlusion"])
    }

    func testStatusReportsADaemonThatIsDownAsData() throws {
        let web = try TestWebServer(gateway: SocketGateway(socketPath: "/nonexistent/ofad.sock"))
        let reply = try httpRequest(port: web.port, path: "/api/status")
        XCTAssertEqual(reply.status, 200)
        XCTAssertEqual(reply.json["daemon"] as? String, "down")
        XCTAssertTrue((reply.json["message"] as? String ?? "").contains("not running"))
        XCTAssertFalse(reply.text.contains("/nonexistent"), "the socket path is not shown to the page")
    }

    func testStatusGivesModelDeviceStateAndLayerCounts() throws {
        let gateway = RecordingGateway(answers: [
            Method.health: .success(["state": "ready", "uptime_seconds": .number(3.5)]),
            Method.status: .success(Self.statusResult),
        ])
        let web = try TestWebServer(gateway: gateway)
        let status = try httpRequest(port: web.port, path: "/api/status").json
        XCTAssertEqual(status["daemon"] as? String, "up")
        XCTAssertEqual(status["state"] as? String, "ready")
        XCTAssertEqual(status["model"] as? String, "tiny-a")
        XCTAssertEqual(status["device"] as? String, "cpu")
        XCTAssertEqual(status["layers"] as? [String: Int], ["encoder": 2, "decoder": 3])
        XCTAssertEqual(status["heads"] as? [String: Int], ["encoder": 4, "decoder": 8])
        XCTAssertEqual((status["shape"] as? [String: Any])?["patch_image_size"] as? Int, 64)
        XCTAssertFalse(
            String(describing: status).contains("/var/lib"), "no server path reaches the page: \(status)")
    }

    func testStatusWhileLoadingSaysSo() throws {
        let gateway = RecordingGateway(answers: [
            Method.health: .success(["state": "loading", "uptime_seconds": .number(0.2)]),
            Method.status: .failure(.daemon(RPCError(code: RPCErrorCode.modelNotReady, message: "loading"))),
        ])
        let web = try TestWebServer(gateway: gateway)
        let status = try httpRequest(port: web.port, path: "/api/status").json
        XCTAssertEqual(status["daemon"] as? String, "up")
        XCTAssertEqual(status["state"] as? String, "loading")
    }

    func testAQueryStringDoesNotChangeTheRoute() throws {
        let web = try TestWebServer(gateway: RecordingGateway())
        XCTAssertEqual(try httpRequest(port: web.port, path: "/?v=2").status, 200)
    }
}

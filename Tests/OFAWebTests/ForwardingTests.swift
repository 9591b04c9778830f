// What reaches ofad: only the listed keys, the image always as bytes, never a file path.
import OFAWeb
import OFAWire
import XCTest

final class ForwardingTests: XCTestCase {
    let image = LimitsTests.imageBase64

    static let prediction: JSONValue = [
        "hypothesis": "a cat", "answer": "yes", "label": "entailment",
        "probabilities": ["yes": .number(0.7), "no": .number(0.1), "maybe": .number(0.2)],
    ]

    func gateway() -> RecordingGateway {
        RecordingGateway(answers: [
            Method.predict: .success(["predictions": [Self.prediction], "timings": [:]]),
            "render": .success([
                "format": "png", "data": "iVBORw0KGgo=", "width": 4, "height": 4, "method": "cross",
                "prediction": Self.prediction, "statistics": [["mean": .number(0.5)]],
            ]),
            Method.attention: .success(["prediction": Self.prediction, "maps": [], "timings": [:]]),
        ])
    }

    func testPredictForwardsTheImageBytesAndTheTexts() throws {
        let gateway = gateway()
        let web = try TestWebServer(gateway: gateway)
        let reply = try postJSON(
            port: web.port, path: "/api/predict", ["image": image, "hypothesis": "a cat", "premise": "a room"])
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(gateway.calls.map(\.method), ["predict"])
        XCTAssertEqual(
            gateway.calls[0].params,
            ["image": ["data": .string(image)], "hypothesis": "a cat", "premise": "a room"])
        XCTAssertEqual(((reply.json["predictions"] as? [[String: Any]])?.first)?["label"] as? String, "entailment")
    }

    func testADataURLIsForwardedAsItsBytesAndAnEmptyPremiseIsLeftOut() throws {
        let gateway = gateway()
        let web = try TestWebServer(gateway: gateway)
        _ = try postJSON(
            port: web.port, path: "/api/predict",
            ["image": "data:image/png;base64," + image, "hypothesis": "a cat", "premise": "  "])
        XCTAssertEqual(gateway.calls.first?.params, ["image": ["data": .string(image)], "hypothesis": "a cat"])
    }

    func testAnImageGivenAsAPathIsRefusedAndNothingIsForwarded() throws {
        let gateway = gateway()
        let web = try TestWebServer(gateway: gateway)
        for image: Any in [["path": "/etc/passwd"], ["data": image, "path": "/etc/passwd"], "/etc/passwd", ""] {
            let reply = try postJSON(port: web.port, path: "/api/render", ["image": image, "hypothesis": "a cat"])
            XCTAssertEqual(reply.status, 400, "\(image)")
        }
        // ofad's render also reads a top-level "path": it must not get through either.
        for route in ["/api/predict", "/api/render", "/api/attention"] {
            let smuggled = try postJSON(
                port: web.port, path: route, ["image": image, "hypothesis": "a cat", "path": "/etc/passwd"])
            XCTAssertEqual(smuggled.status, 400, route)
            XCTAssertTrue(smuggled.text.contains("Unknown key \\\"path\\\""), smuggled.text)
        }
        XCTAssertTrue(gateway.calls.isEmpty, "\(gateway.calls)")
    }

    func testRenderForwardsOnlyItsOptionsUnderTheDaemonsNames() throws {
        let gateway = gateway()
        let web = try TestWebServer(gateway: gateway)
        let options: [String: Any] = [
            "output": "overlay", "source": "rollout", "layers": [0, 1], "heads": 2, "colormap": "viridis",
            "alpha": 0.4, "smoothing": 1.5, "temperature": 0.5, "colorbar": true, "max_side": 512,
            "frame_delay_ms": 300, "loop": 0, "fusion": "max", "discard_ratio": 0.9, "columns": 2,
            "shared_scale": true, "focus_threshold": 0.4, "top_k": 3,
        ]
        let reply = try postJSON(
            port: web.port, path: "/api/render",
            options.merging(["image": image, "hypothesis": "a cat"]) { a, _ in a })
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(reply.json["format"] as? String, "png")
        let params = try XCTUnwrap(gateway.calls.first?.params)
        XCTAssertEqual(gateway.calls.first?.method, "render")
        XCTAssertEqual(params["image"], ["data": .string(image)])
        XCTAssertEqual(params["source"], "rollout")
        XCTAssertEqual(params["layers"], [0, 1])
        XCTAssertEqual(params["heads"], 2)
        XCTAssertEqual(params["alpha"], .number(0.4))
        guard case .object(let members) = params else { return XCTFail("params are an object") }
        XCTAssertEqual(Set(members.keys), Set(options.keys).union(["image", "hypothesis"]))
    }

    func testRenderOptionsOutOfRangeAreRefusedHere() throws {
        let gateway = gateway()
        let web = try TestWebServer(gateway: gateway)
        let bad: [(String, Any)] = [
            ("output", "pdf"), ("source", "decoder"), ("layers", "some"), ("layers", [0.5]), ("loop", true),
            ("fusion", "sum"), ("heads", "median"),
            ("colormap", "rainbow"), ("alpha", 1.5), ("smoothing", "lots"), ("colorbar", "yes"), ("max_side", 1e9),
            ("temperature", 0), ("temperature", 1001), ("discard_ratio", 1), ("token", 1),
        ]
        for (key, value) in bad {
            let reply = try postJSON(
                port: web.port, path: "/api/render", ["image": image, "hypothesis": "a", key: value])
            XCTAssertEqual(reply.status, 400, "\(key)=\(value)")
            XCTAssertTrue(reply.text.contains("\\\"\(key)\\\""), "\(key)=\(value): \(reply.text)")
        }
        XCTAssertTrue(gateway.calls.isEmpty)
    }

    func testAttentionForwardsAValidSelection() throws {
        let gateway = gateway()
        let web = try TestWebServer(gateway: gateway)
        let reply = try postJSON(
            port: web.port, path: "/api/attention",
            ["image": image, "hypothesis": "a", "attention": ["kinds": ["cross"], "layers": [1], "head_mean": true]])
        XCTAssertEqual(reply.status, 200, reply.text)
        let selection = try XCTUnwrap(gateway.calls.first?.params?["attention"])
        XCTAssertEqual(selection["kinds"], ["cross"])
        XCTAssertEqual(selection["head_mean"], true)
        let bad = try postJSON(
            port: web.port, path: "/api/attention", ["image": image, "hypothesis": "a", "attention": ["path": "/x"]])
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(gateway.calls.count, 1)
    }
}

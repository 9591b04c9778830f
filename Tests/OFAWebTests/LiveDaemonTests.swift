// ofa-web in front of the real ofad (tiny-a): answers pass through unchanged, failures read well.
import Foundation
import OFAWire
import XCTest

final class LiveDaemonTests: XCTestCase {
    func testThePredictionThroughOfaWebIsTheDaemonsOwn() throws {
        let stack = try LiveStack()
        let image = try Data(contentsOf: URL(fileURLWithPath: LiveStack.image("photo-200x150.jpg")))
        let reply = try postJSON(
            port: stack.port, path: "/api/predict",
            ["image": image.base64EncodedString(), "hypothesis": "two dogs play", "premise": "a park"])
        XCTAssertEqual(reply.status, 200, reply.text)
        let viaWeb = try JSONDecoder().decode(PredictResult.self, from: Data(reply.body)).predictions
        let direct = try stack.daemon().call(
            Method.predict,
            PredictParams(image: ImageInput(bytes: Array(image)), hypotheses: ["two dogs play"], premise: "a park"),
            as: PredictResult.self
        ).predictions
        XCTAssertEqual(viaWeb, direct)
        let status = try httpRequest(port: stack.port, path: "/api/status").json
        XCTAssertEqual(status["state"] as? String, "ready")
        XCTAssertEqual(status["model"] as? String, "tiny-a")
        XCTAssertEqual(status["layers"] as? [String: Int], ["encoder": 2, "decoder": 2])
    }

    func testRenderThroughOfaWebIsTheDaemonsRender() throws {
        let stack = try LiveStack()
        guard try stack.daemonRenders() else { throw XCTSkip("SKIPPED: this ofad has no render method") }
        let image = try Data(contentsOf: URL(fileURLWithPath: LiveStack.image("scene-160x120.png")))
        for (output, format) in [("overlay", "png"), ("grid", "png"), ("animation", "gif"), ("npy", "npy")] {
            let options: [String: JSONValue] = ["output": .string(output), "source": "cross", "heads": "max"]
            var page: [String: Any] = ["image": image.base64EncodedString(), "hypothesis": "two birds"]
            for (key, value) in options { page[key] = value.stringValue }
            let reply = try postJSON(port: stack.port, path: "/api/render", page)
            XCTAssertEqual(reply.status, 200, reply.text)
            XCTAssertEqual(reply.json["format"] as? String, format, output)
            var params = options
            params["image"] = ["data": .string(image.base64EncodedString())]
            params["hypothesis"] = "two birds"
            let direct = try stack.daemon().call("render", params: .object(params))
            XCTAssertEqual(reply.json["data"] as? String, direct["data"]?.stringValue, "\(output): the same bytes")
        }
    }

    func testBytesThatAreNotAnImageAreRejectedWithAClearMessage() throws {
        let stack = try LiveStack()
        let reply = try postJSON(
            port: stack.port, path: "/api/predict",
            ["image": Data("GIF89a not really".utf8).base64EncodedString(), "hypothesis": "a cat"])
        XCTAssertEqual(reply.status, 422, reply.text)
        XCTAssertEqual(reply.errorKind, "image_rejected")
    }

    func testWhenTheDaemonStopsThePageIsToldItIsDown() throws {
        let stack = try LiveStack()
        stack.stopDaemon()
        let reply = try postJSON(
            port: stack.port, path: "/api/predict", ["image": LimitsTests.imageBase64, "hypothesis": "a cat"])
        XCTAssertEqual(reply.status, 503)
        XCTAssertEqual(reply.errorKind, "daemon_down")
        XCTAssertEqual(try httpRequest(port: stack.port, path: "/api/status").json["daemon"] as? String, "down")
    }

    func testOfaWebRefusesANonLoopbackAddressUnlessAskedAndThenWarns() throws {
        let web = try executable("ofa-web")
        let refused = Process()
        refused.executableURL = URL(fileURLWithPath: web)
        refused.arguments = ["--host", "0.0.0.0", "--port", "\(freePort())"]
        let errors = Pipe()
        refused.standardError = errors
        try refused.run()
        refused.waitUntilExit()
        XCTAssertEqual(refused.terminationStatus, 64)
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.contains("--allow-remote"), text)
    }
}

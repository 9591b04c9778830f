// ofactl, the shell helpers and the Python client against a daemon on a temporary socket.
import Foundation
import OFAServer
import OFAWire
import XCTest

final class ClientToolsTests: XCTestCase {
    var server: TestDaemon!
    var imagePath: String!
    var environment: [String: String] { ["OFAD_SOCKET": server.socketPath] }

    override func setUpWithError() throws {
        server = try TestDaemon()
        imagePath = server.directory + "/cat.png"
        FileManager.default.createFile(atPath: imagePath, contents: Data(TestDaemon.image))
    }

    override func tearDown() { server = nil }

    func testPredictPrintsOneLinePerHypothesisOrTheJSONResult() throws {
        let ofactl = try executable("ofactl")
        let human = try runProcess(
            ofactl, ["predict", imagePath, "a cat on a sofa", "a dog"], environment: environment)
        XCTAssertEqual(human.status, 0, human.stderr)
        let lines = human.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].hasPrefix("yes (entailment)"), String(lines[0]))
        XCTAssertTrue(lines[1].contains("no 0.800"), String(lines[1]))
        let json = try runProcess(ofactl, ["predict", "--json", "--socket", server.socketPath, imagePath, "a cat"])
        let result = try JSONValue(parsing: Array(json.stdout.utf8)).decode(PredictResult.self)
        XCTAssertEqual(result.predictions.map(\.answer), ["yes"])
    }

    func testExitCodesTellConnectionDaemonAndLocalFailuresApart() throws {
        let ofactl = try executable("ofactl")
        XCTAssertEqual(try runProcess(ofactl, ["health"], environment: environment).status, 0)
        XCTAssertEqual(try runProcess(ofactl, ["health", "--socket", server.directory + "/nothing.sock"]).status, 2)
        XCTAssertEqual(try runProcess(ofactl, ["call", "launch"], environment: environment).status, 1)
        XCTAssertEqual(
            try runProcess(ofactl, ["predict", server.directory + "/missing.png", "x"], environment: environment)
                .status, 4)
        XCTAssertEqual(try runProcess(ofactl, ["predict", imagePath], environment: environment).status, 64)
        let status = try runProcess(ofactl, ["status"], environment: environment)
        XCTAssertTrue(status.stdout.contains("architecture  fake"), status.stdout)
        let metrics = try runProcess(ofactl, ["metrics"], environment: environment)
        XCTAssertTrue(metrics.stdout.contains("# TYPE ofad_requests_total counter"))
        let call = try runProcess(ofactl, ["call", "health"], environment: environment)
        XCTAssertEqual(try JSONValue(parsing: Array(call.stdout.utf8))["state"], "ready")
    }

    func testHealthWaitReturnsOnceTheDaemonIsReady() throws {
        let ofactl = try executable("ofactl")
        let release = DispatchSemaphore(value: 0)
        let engine = FakeEngine()
        let slow = try TestDaemon(
            engine: engine,
            loader: { _ in
                release.wait()
                return engine
            }, waitUntilReady: false)
        let notYet = try runProcess(ofactl, ["health", "--socket", slow.socketPath])
        XCTAssertEqual(notYet.status, 3)
        XCTAssertTrue(notYet.stdout.hasPrefix("loading"), notYet.stdout)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { release.signal() }
        let waited = try runProcess(ofactl, ["health", "--wait", "10", "--socket", slow.socketPath])
        XCTAssertEqual(waited.status, 0, waited.stdout + waited.stderr)
        XCTAssertEqual(waited.stdout, "ready\n")
    }

    func testAttentionWritesANpyFile() throws {
        let ofactl = try executable("ofactl")
        let output = server.directory + "/map.npy"
        let result = try runProcess(
            ofactl, ["attention", imagePath, "a cat", "--head-mean", "-o", output], environment: environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: output))
        XCTAssertEqual(Array(bytes.prefix(8)), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.contains("'descr': '<f4'") && header.contains("'shape': (1, 3, 6)"), header)
        XCTAssertEqual((10 + headerLength) % 64, 0)
        XCTAssertEqual(bytes.count, 10 + headerLength + 18 * 4)
    }

    func testTheBashClientSpeaksTheFramingDirectly() throws {
        _ = try requireTool("socat")
        let health = try runProcess(repositoryRoot + "/clients/ofad-raw.sh", ["health"], environment: environment)
        XCTAssertEqual(health.status, 0, health.stderr)
        XCTAssertEqual(try JSONValue(parsing: Array(health.stdout.utf8))["result"]?["state"], "ready")
        let base64 = Data(TestDaemon.image).base64EncodedString()
        let predict = try runProcess(
            repositoryRoot + "/clients/ofad-raw.sh",
            ["predict", #"{"image":{"data":"\#(base64)"},"hypothesis":"a café cat"}"#],
            environment: environment)
        let result = try JSONValue(parsing: Array(predict.stdout.utf8))["result"]
        let prediction = try XCTUnwrap(result?.decode(PredictResult.self).predictions.first)
        XCTAssertEqual(prediction.hypothesis, "a café cat")
        XCTAssertEqual(prediction.answer, "yes")
    }

    func testTheTSVClassifierKeepsLinesAndOrder() throws {
        _ = try requireTool("jq")
        let ofactl = try executable("ofactl")
        let tsv = "\(imagePath!)\ta cat\n\(imagePath!)\ta dog\n/missing.png\ta bird\n\(imagePath!)\tsomething\n"
        let output = try runProcess(
            repositoryRoot + "/clients/ofad-classify-tsv", [], stdin: tsv,
            environment: environment.merging(["OFACTL": ofactl]) { $1 })
        XCTAssertEqual(output.status, 1, output.stderr)
        let rows = output.stdout.split(separator: "\n").map {
            $0.split(separator: "\t", omittingEmptySubsequences: false)
        }
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(rows.map { String($0[1]) }, ["a cat", "a dog", "a bird", "something"])
        XCTAssertEqual(rows.map { String($0[2]) }, ["yes", "no", "error", "maybe"])
        XCTAssertEqual(rows[0].count, 7)
        XCTAssertEqual(rows[0][4], "0.8")
    }

    func testThePythonClient() throws {
        let python = try requireTool("python3")
        let output = try runProcess(
            python, [repositoryRoot + "/clients/python/test_ofad_client.py", "-v"],
            environment: environment.merging(["OFAD_TEST_IMAGE": imagePath]) { $1 })
        XCTAssertEqual(output.status, 0, output.stderr)
        XCTAssertTrue(output.stderr.contains("OK") && !output.stderr.contains("skipped"), output.stderr)
    }
}

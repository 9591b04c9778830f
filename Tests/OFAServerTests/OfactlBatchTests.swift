// ofactl batch against a daemon on a temporary socket: every line answered in input order, and busy answers
// retried with a growing wait, then given up and reported.
import Foundation
import OFAServer
import OFAWire
import XCTest

final class OfactlBatchTests: XCTestCase {
    var server: TestDaemon!
    var imagePath: String!
    var environment: [String: String] { ["OFAD_SOCKET": server.socketPath] }

    override func setUpWithError() throws {
        server = try TestDaemon()
        imagePath = server.directory + "/cat.png"
        FileManager.default.createFile(atPath: imagePath, contents: Data(TestDaemon.image))
    }

    override func tearDown() { server = nil }

    func testBatchAnswersEveryLineInInputOrderWithErrorsPerLine() throws {
        let ofactl = try executable("ofactl")
        var lines: [String] = []
        for index in 0..<300 {
            switch index % 50 {
            case 7: lines.append("{not json")
            case 8: lines.append("")
            case 9:
                lines.append(#"{"method":"predict","params":{"image":{"file":"/nonexistent.png"},"hypothesis":"x"}}"#)
            case 10: lines.append(#"{"id":"mine","method":"health"}"#)
            default:
                let hypothesis = ["cat", "dog", "bird"][index % 3] + " \(index)"
                lines.append(
                    #"{"method":"predict","params":{"image":{"file":"\#(imagePath!)"},"hypothesis":"\#(hypothesis)"}}"#)
            }
        }
        let output = try runProcess(
            ofactl, ["batch", "--window", "32"], stdin: lines.joined(separator: "\n") + "\n",
            environment: environment)
        XCTAssertEqual(output.status, 1, "some lines failed")
        let answers = output.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(answers.count, 300)
        for (index, line) in answers.enumerated() {
            let response = try RPCResponse.parse(Array(line.utf8))
            switch index % 50 {
            case 7: XCTAssertEqual(response.error?.code, RPCErrorCode.parseError)
            case 8: XCTAssertEqual(response.error?.code, RPCErrorCode.invalidRequest)
            case 9: XCTAssertEqual(response.error?.code, RPCErrorCode.imageNotReadable)
            case 10:
                XCTAssertEqual(response.id, "mine")
                XCTAssertEqual(response.result?["state"], "ready")
            default:
                XCTAssertEqual(response.id, .integer(Int64(index + 1)))
                let prediction = try XCTUnwrap(response.get().decode(PredictResult.self).predictions.first)
                XCTAssertTrue(
                    prediction.hypothesis.hasSuffix(" \(index)"), "line \(index + 1): \(prediction.hypothesis)")
            }
        }
    }

    func testALineStillBusyAfterItsRetriesIsGivenUpNamedAndCounted() throws {
        let ofactl = try executable("ofactl")
        let held = try HeldDaemon()
        let lines = (1...4).map { held.line(hypothesis: "cat \($0)") }
        let started = Date()
        let batch = runInBackground(
            ofactl, ["batch", "--retries", "2", "--retry-delay", "0.05"], stdin: lines.joined(separator: "\n") + "\n",
            environment: ["OFAD_SOCKET": held.server.socketPath])
        // Line 1 waits in the queue; lines 2-4 are busy three times each (the first attempt and two retries).
        XCTAssertTrue(waitUntil(timeout: 10) { held.busyAnswers == 9 }, "busy answers: \(held.busyAnswers)")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.05 + 0.1, "waits of 0.05 s, then 0.1 s")
        held.release()
        let output = try batch()
        XCTAssertEqual(output.status, 1, "something was given up")
        XCTAssertEqual(held.busyAnswers, 9, "no fourth attempt")
        let answers = try output.stdout.split(separator: "\n").map { try RPCResponse.parse(Array($0.utf8)) }
        XCTAssertEqual(answers.count, 4)
        XCTAssertEqual(try answers[0].get().decode(PredictResult.self).predictions.map(\.hypothesis), ["cat 1"])
        for (index, answer) in answers.enumerated().dropFirst() {
            XCTAssertEqual(answer.id, .integer(Int64(index + 1)))
            XCTAssertEqual(answer.error?.code, RPCErrorCode.serverBusy)
            XCTAssertEqual(answer.error?.data, ["line": .integer(Int64(index + 1)), "attempts": 3])
            XCTAssertTrue(answer.error?.message.hasSuffix("(gave up after 3 attempts)") == true, "\(answer)")
            XCTAssertTrue(output.stderr.contains("line \(index + 1): gave up after 3 attempts"), output.stderr)
        }
        XCTAssertTrue(
            output.stderr.contains("gave up on 3 of 4 lines, still busy after 2 retries: lines 2, 3, 4"), output.stderr)
    }

    func testABusyLineIsSentAgainLaterAndAnsweredOnceTheQueueHasRoom() throws {
        let ofactl = try executable("ofactl")
        let held = try HeldDaemon()
        let lines = (1...4).map { held.line(hypothesis: "dog \($0)") }
        let batch = runInBackground(
            ofactl, ["batch", "--retry-delay", "0.3"], stdin: lines.joined(separator: "\n") + "\n",
            environment: ["OFAD_SOCKET": held.server.socketPath])
        XCTAssertTrue(waitUntil(timeout: 10) { held.busyAnswers >= 3 }, "lines 2-4 are busy at first")
        held.release()
        let output = try batch()
        XCTAssertEqual(output.status, 0, output.stderr)
        XCTAssertFalse(output.stderr.contains("gave up"), output.stderr)
        let answers = try output.stdout.split(separator: "\n").map { try RPCResponse.parse(Array($0.utf8)) }
        XCTAssertEqual(
            try answers.map { try $0.get().decode(PredictResult.self).predictions[0].hypothesis },
            ["dog 1", "dog 2", "dog 3", "dog 4"])
        XCTAssertGreaterThanOrEqual(held.busyAnswers, 3)
    }

    func testRetriesCanBeTurnedOffAndBadValuesAreUsageErrors() throws {
        let ofactl = try executable("ofactl")
        let held = try HeldDaemon()
        let lines = (1...3).map { held.line(hypothesis: "bird \($0)") }
        let batch = runInBackground(
            ofactl, ["batch", "--retries", "0"], stdin: lines.joined(separator: "\n") + "\n",
            environment: ["OFAD_SOCKET": held.server.socketPath])
        XCTAssertTrue(waitUntil(timeout: 10) { held.busyAnswers == 2 })
        held.release()
        let output = try batch()
        XCTAssertEqual(output.status, 1)
        XCTAssertTrue(output.stderr.contains("gave up on 2 of 3 lines, still busy after 0 retries"), output.stderr)
        XCTAssertEqual(held.busyAnswers, 2)
        for arguments in [["--retries", "-1"], ["--retry-delay", "-0.5"], ["--window", "0"]] {
            let refused = try runProcess(ofactl, ["batch"] + arguments, stdin: "", environment: environment)
            XCTAssertEqual(refused.status, 64, "\(arguments): \(refused.stderr)")
        }
    }
}

/// A daemon with one worker and room for one request in its queue, the worker held by a request of the test's own
/// until `release()`: the first line sent is queued, every other one is answered busy.
final class HeldDaemon {
    let server: TestDaemon
    let imagePath: String
    private let engine = FakeEngine()
    private let gate = DispatchSemaphore(value: 0)
    private let holder: WireClient

    init() throws {
        server = try TestDaemon(engine: engine) {
            $0.workers = 1
            $0.queueCapacity = 1
        }
        imagePath = server.directory + "/cat.png"
        FileManager.default.createFile(atPath: imagePath, contents: Data(TestDaemon.image))
        engine.gateAfterWarmUp = gate
        let before = engine.counts.predict
        holder = try server.client()
        try holder.send(RPCRequest(id: 1, method: Method.predict, params: TestDaemon.predictParams(["the held one"])))
        XCTAssertTrue(waitUntil { self.engine.counts.predict > before }, "the worker is held")
    }

    /// Answers "server busy" so far.
    var busyAnswers: Int { server.daemon.dispatcher.metrics.counts.failed }

    /// A batch line asking about the test image.
    func line(hypothesis: String) -> String {
        #"{"method":"predict","params":{"image":{"file":"\#(imagePath)"},"hypothesis":"\#(hypothesis)"}}"#
    }

    func release() {
        engine.gateAfterWarmUp = nil
        gate.signal()
    }

    deinit { release() }
}

/// Runs a process on another thread; the returned function waits for it.
func runInBackground(
    _ path: String, _ arguments: [String], stdin: String, environment: [String: String]
) -> () throws -> ProcessOutput {
    let done = DispatchSemaphore(value: 0)
    var result: Result<ProcessOutput, Error>?
    DispatchQueue.global().async {
        result = Result { try runProcess(path, arguments, stdin: stdin, environment: environment) }
        done.signal()
    }
    return {
        XCTAssertEqual(done.wait(timeout: .now() + 90), .success, "\(path) \(arguments) finished")
        return try XCTUnwrap(result).get()
    }
}

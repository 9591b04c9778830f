// A question whose client goes away is withdrawn from ofad: the cancellation itself, then ofa-web in front of an
// in-process ofad whose only worker is held by a slow job.
import Foundation
import OFAWeb
import OFAWire
import XCTest

final class CallCancellationTests: XCTestCase {
    func testTheHandlerRunsOnceOnlyWhileTheCallRunsAndAtOnceWhenAlreadyCancelled() {
        let counter = Counter()
        let cancellation = CallCancellation()
        cancellation.whileRunning(
            {
                XCTAssertEqual(counter.value, 0)
                cancellation.cancel()
                cancellation.cancel()
                XCTAssertEqual(counter.value, 1, "run once, by the first cancel")
            }, onCancel: { counter.add() })
        XCTAssertTrue(cancellation.isCancelled)
        cancellation.whileRunning(
            { XCTAssertEqual(counter.value, 2, "a call starting after the cancel is ended at once") },
            onCancel: { counter.add() })

        let finished = CallCancellation()
        finished.whileRunning({}, onCancel: { counter.add() })
        finished.cancel()
        XCTAssertEqual(counter.value, 2, "a call that has returned is not touched")
    }

    func testACallWithdrawnBeforeItStartsNeverConnectsAndIsLoggedAsClientClosedRequest() {
        let cancellation = CallCancellation()
        cancellation.cancel()
        // Connecting would fail as "daemon down": clientGone says it never tried.
        XCTAssertThrowsError(
            try SocketGateway(socketPath: "/nonexistent/ofad.sock").call(
                Method.predict, params: nil, cancellation: cancellation)
        ) { XCTAssertEqual($0 as? WebError, .clientGone) }
        XCTAssertEqual(WebError.clientGone.status.code, 499)
        XCTAssertEqual(WebError.clientGone.kind, "client_gone")
        XCTAssertFalse(WebError.clientGone.retryable)
    }

    func testAQuestionWhoseClientGoesAwayIsWithdrawnFromOfadBeforeItRuns() throws {
        let stack = try HeldStack()
        let image = try Data(contentsOf: URL(fileURLWithPath: LiveStack.image("scene-160x120.png")))
        stack.engine.hold()
        let slow = Self.askDirectly(stack, image: image, hypothesis: "the slow one")
        XCTAssertTrue(waitUntil(timeout: 10) { stack.engine.reached.contains("the slow one") }, "the slow one runs")

        var page: HTTPTestConnection? = try HTTPTestConnection(port: stack.port)
        let body = try JSONSerialization.data(
            withJSONObject: ["image": image.base64EncodedString(), "hypothesis": "the withdrawn one"])
        page?.send(
            "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.count)\r\n\r\n")
        page?.send(Array(body))
        XCTAssertTrue(waitUntil(timeout: 10) { stack.queueDepth == 1 }, "queued behind the slow one")
        page = nil  // the client goes away
        XCTAssertTrue(waitUntil(timeout: 10) { stack.queueDepth == 0 }, "withdrawn while the slow one still runs")

        stack.engine.release()
        XCTAssertEqual(try slow().predictions.map(\.hypothesis), ["the slow one"])
        let later = try postJSON(
            port: stack.port, path: "/api/predict", ["image": image.base64EncodedString(), "hypothesis": "a later one"])
        XCTAssertEqual(later.status, 200, later.text)
        XCTAssertEqual(stack.engine.reached.suffix(2), ["the slow one", "a later one"])
        XCTAssertFalse(stack.engine.reached.contains("the withdrawn one"), "\(stack.engine.reached)")
    }

    /// Sends a predict straight to ofad on another thread; the returned function waits for its answer.
    static func askDirectly(_ stack: HeldStack, image: Data, hypothesis: String) -> () throws -> PredictResult {
        let done = DispatchSemaphore(value: 0)
        let answer = Box<Result<PredictResult, Error>>()
        let socketPath = stack.socketPath
        Thread.detachNewThread {
            answer.value = Result {
                try WireClient(socketPath: socketPath).call(
                    Method.predict, PredictParams(image: ImageInput(bytes: Array(image)), hypotheses: [hypothesis]),
                    as: PredictResult.self)
            }
            done.signal()
        }
        return {
            guard done.wait(timeout: .now() + 60) == .success, let result = answer.value else {
                throw XCTSkip("no answer to \(hypothesis) within 60 s")
            }
            return try result.get()
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add() { lock.withLock { count += 1 } }
}

final class Box<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?
    var value: Value? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

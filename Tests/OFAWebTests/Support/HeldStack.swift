// TEST DOUBLE ONLY: ofad's Daemon on the tiny-a engine behind a gate the test holds, and ofa-web's WebServer in
// front of it, both in this process (a temporary socket, a free port), so a test can keep a job queued.
import Foundation
import Logging
import OFAExplanation
import OFAServer
import OFAWeb
import OFAWire
import XCTest

/// The real engine, except that while held every model call waits; it records which hypotheses reached it.
final class HeldEngine: InferenceEngine, @unchecked Sendable {
    private let engine: any InferenceEngine
    private let condition = NSCondition()
    private var held = false
    private var hypotheses: [String] = []

    init(modelDirectory: String) throws {
        engine = try PipelineEngine.loader(
            EngineOptions(modelDirectory: modelDirectory, threads: 1, device: .cpu, maximumImagePixels: 40_000_000))
    }

    /// Every hypothesis the engine was asked about, in order (the warm-up's included).
    var reached: [String] { condition.withLock { hypotheses } }

    /// Model calls from now on wait until `release()`.
    func hold() { condition.withLock { held = true } }

    func release() {
        condition.withLock {
            held = false
            condition.broadcast()
        }
    }

    private func arrive(_ asked: [String]) {
        condition.withLock {
            hypotheses += asked
            while held { condition.wait() }
        }
    }

    func describe() -> EngineDescription { engine.describe() }

    func prepareImage(_ bytes: [UInt8], seconds: Double) throws -> EngineImage {
        try engine.prepareImage(bytes, seconds: seconds)
    }

    func predict(image: EngineImage, hypotheses: [String], premise: String?) throws -> [Prediction] {
        arrive(hypotheses)
        return try engine.predict(image: image, hypotheses: hypotheses, premise: premise)
    }

    func attention(image: EngineImage, hypothesis: String, premise: String?, selection: AttentionSelection)
        throws -> (Prediction, [AttentionMap])
    {
        arrive([hypothesis])
        return try engine.attention(image: image, hypothesis: hypothesis, premise: premise, selection: selection)
    }

    func explain(image: EngineImage, imageBytes: [UInt8], plan: RenderPlan, budget: WorkBudget) throws -> Explanation {
        arrive([plan.hypothesis])
        return try engine.explain(image: image, imageBytes: imageBytes, plan: plan, budget: budget)
    }

    func relevance(image: EngineImage, params: RelevanceParams) throws -> (Prediction, [TargetRelevance]) {
        arrive([params.hypothesis])
        return try engine.relevance(image: image, params: params)
    }
}

final class HeldStack {
    let engine: HeldEngine
    let directory: String
    let socketPath: String
    let daemon: Daemon
    let web: WebServer
    let port: Int

    /// ofad with one worker, so a held job keeps the next one queued.
    init() throws {
        let engine = try HeldEngine(modelDirectory: LiveStack.modelDirectory)
        self.engine = engine
        directory = "/tmp/ofa-web-held-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        socketPath = directory + "/ofad.sock"
        let quiet = Logger(label: "held-stack") { _ in SwiftLogNoOpLogHandler() }
        var configuration = DaemonConfiguration()
        configuration.socketPath = socketPath
        configuration.modelDirectory = LiveStack.modelDirectory
        configuration.threads = 1
        configuration.workers = 1
        daemon = Daemon(configuration: configuration, loader: { _ in engine }, logger: quiet)
        try daemon.start()
        let socketPath = socketPath
        let ready = waitUntil(timeout: 30) {
            (try? WireClient(socketPath: socketPath).call(Method.health, as: HealthResult.self).state) == .ready
        }
        XCTAssertTrue(ready, "the daemon is ready on tiny-a")
        var webConfiguration = WebConfiguration()
        webConfiguration.port = 0
        webConfiguration.socketPath = socketPath
        web = WebServer(configuration: webConfiguration, logger: quiet)
        port = try web.start()
    }

    /// Requests waiting for ofad's worker (nil when the daemon does not answer).
    var queueDepth: Int? {
        try? WireClient(socketPath: socketPath).call(Method.status, as: StatusResult.self).queueDepth
    }

    deinit {
        engine.release()
        web.shutdown()
        daemon.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

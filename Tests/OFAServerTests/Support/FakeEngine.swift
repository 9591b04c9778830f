// TEST DOUBLE ONLY: a deterministic stand-in for the OFA engine, for protocol, queue and lifecycle tests.
// It never ships: predictions that matter are checked against the real fixture model once the pipeline lands.
import Crypto
import Foundation
import ImageIO
import OFAServer
import OFAWire

final class FakeEngine: InferenceEngine, @unchecked Sendable {
    final class Features {
        let digest: String
        init(digest: String) { self.digest = digest }
    }

    private let lock = NSLock()
    private var prepareCalls = 0
    private var predictCalls = 0
    private var currentDelay = 0.0
    private var currentGate: DispatchSemaphore?
    private var currentFeatureBytes = 1000

    /// Seconds each predict call takes.
    var delay: Double {
        get { lock.withLock { currentDelay } }
        set { lock.withLock { currentDelay = newValue } }
    }

    /// Set once the daemon is ready: each predict then waits on it (a hung engine until signalled).
    var gateAfterWarmUp: DispatchSemaphore? {
        get { lock.withLock { currentGate } }
        set { lock.withLock { currentGate = newValue } }
    }

    var counts: (prepare: Int, predict: Int) { lock.withLock { (prepareCalls, predictCalls) } }

    /// What one image's features cost in the image cache.
    var featureBytes: Int {
        get { lock.withLock { currentFeatureBytes } }
        set { lock.withLock { currentFeatureBytes = newValue } }
    }

    /// The fake's rule: "cat" → yes, "dog" → no, anything else → maybe.
    static func expectedAnswer(_ hypothesis: String) -> String {
        hypothesis.contains("cat") ? "yes" : hypothesis.contains("dog") ? "no" : "maybe"
    }

    /// A GPU to report, as the CUDA engine does (nil: the CPU).
    var gpu: GPUStatus? {
        get { lock.withLock { currentGPU } }
        set { lock.withLock { currentGPU = newValue } }
    }
    private var currentGPU: GPUStatus?

    /// bf16 close calls to report (nil: none counted, as in fp32).
    var closeCalls: Int? {
        get { lock.withLock { currentCloseCalls } }
        set { lock.withLock { currentCloseCalls = newValue } }
    }
    private var currentCloseCalls: Int?

    func describe() -> EngineDescription {
        var description = EngineDescription(
            architecture: "fake", modelDirectory: "/fake", device: "cpu", threads: 1,
            imageParameters: "fake-480")
        if let gpu {
            description.device = "cuda:\(gpu.ordinal) \(gpu.name)"
            description.gpu = gpu
        }
        description.closeCalls = closeCalls
        return description
    }

    func prepareImage(_ bytes: [UInt8], seconds: Double) throws -> EngineImage {
        guard ImageHeader(bytes) != nil else { throw EngineError.imageUndecodable("fake: unknown format") }
        let byteCount = lock.withLock {
            prepareCalls += 1
            return currentFeatureBytes
        }
        return EngineImage(payload: Features(digest: SHA256.hexDigest(of: bytes)), byteCount: byteCount)
    }

    func predict(image: EngineImage, hypotheses: [String], premise: String?) throws -> [Prediction] {
        let (gate, delay) = lock.withLock {
            predictCalls += 1
            return (currentGate, currentDelay)
        }
        gate?.wait()
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        return hypotheses.map { hypothesis in
            let answer = Self.expectedAnswer(hypothesis)
            let label = ["yes": "entailment", "no": "contradiction", "maybe": "neutral"][answer]!
            var probabilities: [String: Float] = ["yes": 0.1, "no": 0.1, "maybe": 0.1]
            probabilities[answer] = 0.8
            return Prediction(hypothesis: hypothesis, answer: answer, label: label, probabilities: probabilities)
        }
    }

    func attention(image: EngineImage, hypothesis: String, premise: String?, selection: AttentionSelection)
        throws -> (Prediction, [AttentionMap])
    {
        let prediction = try predict(image: image, hypotheses: [hypothesis], premise: premise)[0]
        let maps = selection.kinds.map { kind in
            let heads = selection.headMean ? 1 : (selection.heads?.count ?? 2)
            let queries = selection.queryPosition == nil ? 3 : 1
            let keys = 6
            let values = (0..<(heads * queries * keys)).map { Float($0) / 10 }
            return AttentionMap(
                kind: kind, layer: selection.layers?.first ?? 1,
                heads: selection.headMean ? nil : (selection.heads ?? [0, 1]),
                queryPosition: selection.queryPosition,
                values: FloatArray(shape: [heads, queries, keys], values: values),
                patchGrid: PatchGridSize(rows: 2, cols: 2), queryTokens: ["a", "b", "c"],
                keyTokens: ["p0", "p1", "p2", "p3", "x", "y"])
        }
        return (prediction, maps)
    }
}

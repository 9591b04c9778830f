// The real engine (PipelineEngine on tiny-a) with a log of what each render or stats request's one forward pass
// recorded.
import Foundation
import OFA
import OFAExplanation
import OFAServer
import OFAWire

final class RecordingSpy: InferenceEngine, @unchecked Sendable {
    let inner: PipelineEngine
    private let lock = NSLock()
    private var log: [AttentionRequest] = []

    init(_ inner: PipelineEngine) { self.inner = inner }

    /// What each explain call recorded, one entry per forward pass.
    var recordings: [AttentionRequest] { lock.withLock { log } }

    func describe() -> EngineDescription { inner.describe() }
    func prepareImage(_ bytes: [UInt8], seconds: Double) throws -> EngineImage {
        try inner.prepareImage(bytes, seconds: seconds)
    }
    func predict(image: EngineImage, hypotheses: [String], premise: String?) throws -> [Prediction] {
        try inner.predict(image: image, hypotheses: hypotheses, premise: premise)
    }
    func attention(image: EngineImage, hypothesis: String, premise: String?, selection: AttentionSelection)
        throws -> (Prediction, [AttentionMap])
    {
        try inner.attention(image: image, hypothesis: hypothesis, premise: premise, selection: selection)
    }
    func explain(image: EngineImage, imageBytes: [UInt8], plan: RenderPlan, budget: WorkBudget) throws -> Explanation {
        let explanation = try inner.explain(image: image, imageBytes: imageBytes, plan: plan, budget: budget)
        lock.withLock { log.append(explanation.recording) }
        return explanation
    }
    func relevance(image: EngineImage, params: RelevanceParams) throws -> (Prediction, [TargetRelevance]) {
        try inner.relevance(image: image, params: params)
    }
}

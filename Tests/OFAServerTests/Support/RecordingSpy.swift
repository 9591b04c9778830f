// The real engine (PipelineEngine on tiny-a) with a log of what each render or stats request asked it to record.
import Foundation
import OFAServer
import OFAWire

final class RecordingSpy: InferenceEngine, @unchecked Sendable {
    let inner: PipelineEngine
    private let lock = NSLock()
    private var log: [AttentionRecording] = []

    init(_ inner: PipelineEngine) { self.inner = inner }

    /// The recordings asked for so far, one per forward pass.
    var recordings: [AttentionRecording] { lock.withLock { log } }

    func describe() -> EngineDescription { inner.describe() }
    func prepareImage(_ bytes: [UInt8]) throws -> PreparedImage { try inner.prepareImage(bytes) }
    func predict(image: PreparedImage, hypotheses: [String], premise: String?) throws -> [Prediction] {
        try inner.predict(image: image, hypotheses: hypotheses, premise: premise)
    }
    func attention(image: PreparedImage, hypothesis: String, premise: String?, selection: AttentionSelection)
        throws -> (Prediction, [AttentionMap])
    {
        try inner.attention(image: image, hypothesis: hypothesis, premise: premise, selection: selection)
    }
    func record(image: PreparedImage, hypothesis: String, premise: String?, recording: AttentionRecording)
        throws -> RecordedAttention
    {
        lock.withLock { log.append(recording) }
        return try inner.record(image: image, hypothesis: hypothesis, premise: premise, recording: recording)
    }
}

// Forward passes on a perturbed input, for occlusion maps and faithfulness tests: image patches left out of the
// encoder (the reference's key-padding mask; see ImageFeatures.keeping), the answers scored as in `classify`.

/// The answers' logits at the answer row and their probabilities (restricted softmax), for one pass.
public struct AnswerScores: Sendable, Equatable {
    public let logits: [Float]
    public let probabilities: [Float]

    /// Index of the most probable answer (first on ties).
    public var best: Int { AnswerScoring.argmax(probabilities) }
}

/// What a perturbation test reads from a pass: the target answer's probability, or the target's logit value.
public enum PerturbationMeasure: String, Sendable, CaseIterable {
    case probability
    case logit
}

/// Work that runs many passes stopped because its caller asked (`progress` returned false).
public struct PerturbationCancelled: Error, CustomStringConvertible {
    public let done: Int
    public let total: Int

    public init(done: Int, total: Int) {
        self.done = done
        self.total = total
    }

    public var description: String { "stopped after \(done) of \(total) passes" }
}

/// Called after each pass with (passes done, passes in all); returning false stops the work.
public typealias PerturbationProgress = (_ done: Int, _ total: Int) -> Bool

extension RelevanceTarget {
    /// The target read from one pass.
    public func value(of scores: AnswerScores, _ measure: PerturbationMeasure) -> Float {
        switch measure {
        case .probability: return scores.probabilities[answer]
        case .logit: return scores.logits[answer] - (contrast.map { scores.logits[$0] } ?? 0)
        }
    }

    func check(answers: Int) throws {
        guard (0..<answers).contains(answer), contrast.map({ (0..<answers).contains($0) }) ?? true else {
            throw InputError.targetOutOfRange(description, answers: answers)
        }
    }
}

extension OFAModel {
    /// One forward pass with only `keptPatches` of the image (grid indices, increasing; nil: every patch), and
    /// without the source and decoder-prompt tokens at `droppedSource` and `droppedDecoder` (positions; the
    /// reference's pad token there, masked as a key everywhere, the other tokens keeping their positions).
    public func answerScores(
        image: ImageFeatures, keptPatches: [Int]? = nil, sourceTokens: [Int], decoderTokens: [Int],
        answerTokens: [Int], droppedSource: Set<Int> = [], droppedDecoder: Set<Int> = []
    ) throws -> AnswerScores {
        let input = keptPatches.map { image.keeping($0, backend: backend) } ?? image
        try validate(tokens: sourceTokens, name: "source")
        try validate(tokens: decoderTokens, name: "decoder prompt")
        try validate(tokens: answerTokens, name: "answer")
        guard droppedDecoder.allSatisfy({ $0 >= 0 && $0 < decoderTokens.count - 1 }),
            droppedSource.allSatisfy({ sourceTokens.indices.contains($0) }), droppedSource.count < sourceTokens.count
        else { throw InputError.tokenNotDroppable }
        let source = sourceTokens.indices.filter { !droppedSource.contains($0) }
        let prompt = decoderTokens.indices.filter { !droppedDecoder.contains($0) }
        let encoded = encoder(
            image: input, tokens: source.map { sourceTokens[$0] }, positions: droppedSource.isEmpty ? nil : source,
            recorder: nil, probe: nil)
        let logits = backend.read(
            decoder(
                tokens: prompt.map { decoderTokens[$0] }, positions: droppedDecoder.isEmpty ? nil : prompt,
                answers: answerTokens, encoder: encoded, recorder: nil, probe: nil))
        return AnswerScores(logits: logits, probabilities: AnswerScoring.probabilities(logits: logits))
    }
}

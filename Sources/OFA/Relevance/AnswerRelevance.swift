// Answer relevance (issue 11): one forward pass that keeps what the backward pass reads, then per target one
// backward pass of activation gradients (no weight gradients; the ResNet is not differentiated) to every attention
// map's ∇A = ∂y/∂A, Ā = mean over heads of (∇A ⊙ A)⁺, and the rules of RelevanceRules.

/// One target's relevance: the answer row (the last decoder row) of R^de and R^dd.
public struct Relevance: Sendable {
    public let target: RelevanceTarget
    /// The target's value: logit(answer), or logit(answer) − logit(contrast).
    public let value: Float
    /// R^de over the patches, row-major on the grid.
    public let image: [Float]
    /// R^de over the source tokens (bos first).
    public let sourceTokens: [Float]
    /// R^dd over the decoder prompt's tokens.
    public let decoderTokens: [Float]
    /// Every intermediate, when asked for (`keepingDetail`).
    public let detail: RelevanceDetail?
}

/// The intermediates of one target, host copies in layer order: what the reference's goldens compare.
public struct RelevanceDetail: Sendable {
    public struct Map: Sendable {
        /// ∇A `[H, T, S]`.
        public let gradient: [Float]
        /// Ā `[T, S]`.
        public let weighted: [Float]
    }

    public let encoder: [Map]
    public let decoderSelf: [Map]
    public let cross: [Map]
    /// R^ee `[S, S]`, R^dd `[T, T]`, R^de `[T, S]`.
    public let encoderRelevance: [Float]
    public let decoderRelevance: [Float]
    public let crossRelevance: [Float]
}

/// The answer probabilities of the forward pass and one relevance per target.
public struct RelevanceResult: Sendable {
    public let probabilities: [Float]
    public let relevances: [Relevance]
    public let geometry: AttentionGeometry
}

extension OFAModel {
    /// Relevance of every target for one image and source sequence (spec §7's one-pass scoring); several targets
    /// share the forward pass. `includingPredicted`: the predicted answer's target first, unless listed already.
    public func relevance(
        image: ImageFeatures, sourceTokens: [Int], decoderTokens: [Int], answerTokens: [Int],
        targets requested: [RelevanceTarget], includingPredicted: Bool = false, keepingDetail: Bool = false
    ) throws -> RelevanceResult {
        try validate(tokens: sourceTokens, name: "source")
        try validate(tokens: decoderTokens, name: "decoder prompt")
        try validate(tokens: answerTokens, name: "answer")
        if let bad = requested.first(where: { target in
            !answerTokens.indices.contains(target.answer)
                || target.contrast.map { !answerTokens.indices.contains($0) } ?? false
        }) {
            throw InputError.targetOutOfRange(bad.description, answers: answerTokens.count)
        }
        let (encoded, encoderTrace) = encoder.forward(image: image, tokens: sourceTokens)
        let (logits, decoderTrace) = decoder.forward(tokens: decoderTokens, encoder: encoded)
        let scores = backend.read(logits)
        let probabilities = AnswerScoring.probabilities(logits: answerTokens.map { scores[$0] })
        let predicted = RelevanceTarget(answer: AnswerScoring.argmax(probabilities))
        let targets = includingPredicted && !requested.contains(predicted) ? [predicted] + requested : requested
        let rules = RelevanceRules(backend: backend)
        let relevances = targets.map { target in
            let weights = target.logitWeights(answerTokens: answerTokens)
            let decoderGradients = decoder.backward(target: weights, trace: decoderTrace)
            let encoderGradients = encoder.backward(decoderGradients.memory, trace: encoderTrace)
            func weighted(_ gradients: [Tensor], _ traces: [AttentionTrace]) -> [Tensor] {
                zip(gradients, traces).map { backend.gradientWeightedMean($0, probabilities: $1.probabilities) }
            }
            let encoderWeighted = weighted(encoderGradients, encoderTrace.layers.map(\.attention))
            let selfWeighted = weighted(
                decoderGradients.selfProbabilities, decoderTrace.layers.map(\.selfAttention))
            let crossWeighted = weighted(
                decoderGradients.crossProbabilities, decoderTrace.layers.map(\.crossAttention))
            let matrices = rules.propagate(encoder: encoderWeighted, decoderSelf: selfWeighted, cross: crossWeighted)
            let decoderLength = decoderTokens.count
            let sourceLength = image.grid.count + sourceTokens.count
            let crossRow = backend.read(matrices.cross, offset: (decoderLength - 1) * sourceLength, count: sourceLength)
            var detail: RelevanceDetail?
            if keepingDetail {
                func maps(_ gradients: [Tensor], _ weighted: [Tensor]) -> [RelevanceDetail.Map] {
                    zip(gradients, weighted).map { .init(gradient: backend.read($0), weighted: backend.read($1)) }
                }
                detail = RelevanceDetail(
                    encoder: maps(encoderGradients, encoderWeighted),
                    decoderSelf: maps(decoderGradients.selfProbabilities, selfWeighted),
                    cross: maps(decoderGradients.crossProbabilities, crossWeighted),
                    encoderRelevance: backend.read(matrices.encoder), decoderRelevance: backend.read(matrices.decoder),
                    crossRelevance: backend.read(matrices.cross))
            }
            return Relevance(
                target: target, value: weights.reduce(0) { $0 + $1.weight * scores[$1.token] },
                image: Array(crossRow[..<image.grid.count]), sourceTokens: Array(crossRow[image.grid.count...]),
                decoderTokens: backend.read(
                    matrices.decoder, offset: (decoderLength - 1) * decoderLength, count: decoderLength),
                detail: detail)
        }
        let geometry = AttentionGeometry(grid: image.grid, sourceTokens: sourceTokens, decoderTokens: decoderTokens)
        return RelevanceResult(probabilities: probabilities, relevances: relevances, geometry: geometry)
    }
}

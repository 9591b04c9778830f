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
        for target in requested { try target.check(answers: answerTokens.count) }
        // The forward pass's trace and the backward passes' gradients (up to [heads, T, S] per layer) reuse memory
        // instead of mapping it afresh, within the request and in the next one that comes soon.
        let bytes = relevanceWorkspaceBytes(sourceLength: image.grid.count + sourceTokens.count)
        return try backend.withWorkspace(bytes: bytes, keepingFor: OFAModel.relevanceMemoryRetention) {
            try relevanceAfterChecks(
                image: image, sourceTokens: sourceTokens, decoderTokens: decoderTokens, answerTokens: answerTokens,
                targets: requested, includingPredicted: includingPredicted, keepingDetail: keepingDetail)
        }
    }

    /// About what a relevance request over `sourceLength` encoder tokens holds: the forward pass's trace (per encoder
    /// layer six `[S, d]` activations, the `[S, ffn]` pre-activation and the `[heads, S, S]` probabilities; per
    /// decoder layer the cross attention's keys and values) and 192 MB of gradients. 1.4 GB for OFA-large.
    func relevanceWorkspaceBytes(sourceLength: Int) -> Int {
        let c = configuration
        let encoderLayer =
            (6 * c.modelDimension + c.encoderFeedForwardDimension) * sourceLength
            + c.encoderAttentionHeads * sourceLength * sourceLength
        let decoderLayer = 2 * c.modelDimension * sourceLength
        return 4 * (c.encoderLayers * encoderLayer + c.decoderLayers * decoderLayer) + (192 << 20)
    }

    /// Seconds a relevance request's memory stays with the process for the next one (clearing 1.4 GB of fresh pages
    /// costs about a second here), before it is released.
    static let relevanceMemoryRetention: Double = 30

    private func relevanceAfterChecks(
        image: ImageFeatures, sourceTokens: [Int], decoderTokens: [Int], answerTokens: [Int],
        targets requested: [RelevanceTarget], includingPredicted: Bool, keepingDetail: Bool
    ) throws -> RelevanceResult {
        let (encoded, encoderTrace) = encoder.forward(image: image, tokens: sourceTokens)
        let (logits, decoderTrace) = decoder.forward(tokens: decoderTokens, encoder: encoded)
        let scores = backend.read(logits)
        let probabilities = AnswerScoring.probabilities(logits: answerTokens.map { scores[$0] })
        let predicted = RelevanceTarget(answer: AnswerScoring.argmax(probabilities))
        let targets = includingPredicted && !requested.contains(predicted) ? [predicted] + requested : requested
        let rules = RelevanceRules(backend: backend)
        let relevances = targets.map { target in
            let weights = target.logitWeights(answerTokens: answerTokens)
            // Ā of each map as soon as its ∇A exists (∇A's memory is reused next); host copies for the detail.
            var encoderWeighted = [Tensor?](repeating: nil, count: encoderTrace.layers.count)
            var selfWeighted = [Tensor?](repeating: nil, count: decoderTrace.layers.count)
            var crossWeighted = selfWeighted
            var encoderGradients = [[Float]](repeating: [], count: encoderWeighted.count)
            var selfGradients = [[Float]](repeating: [], count: selfWeighted.count)
            var crossGradients = selfGradients
            let memory = decoder.backward(
                target: weights, trace: decoderTrace,
                visitSelf: { layer, gradient in
                    selfWeighted[layer] = backend.gradientWeightedMean(
                        gradient, probabilities: decoderTrace.layers[layer].selfAttention.probabilities)
                    if keepingDetail { selfGradients[layer] = backend.read(gradient) }
                },
                visitCross: { layer, gradient in
                    crossWeighted[layer] = backend.gradientWeightedMean(
                        gradient, probabilities: decoderTrace.layers[layer].crossAttention.probabilities)
                    if keepingDetail { crossGradients[layer] = backend.read(gradient) }
                })
            encoder.backward(memory, trace: encoderTrace) { layer, gradient in
                encoderWeighted[layer] = backend.gradientWeightedMean(
                    gradient, probabilities: encoderTrace.layers[layer].attention.probabilities)
                if keepingDetail { encoderGradients[layer] = backend.read(gradient) }
            }
            let matrices = rules.propagate(
                encoder: encoderWeighted.map { $0! }, decoderSelf: selfWeighted.map { $0! },
                cross: crossWeighted.map { $0! }, keepingEncoder: keepingDetail)
            let decoderLength = decoderTokens.count
            let sourceLength = image.grid.count + sourceTokens.count
            let crossRow = backend.read(matrices.cross, offset: (decoderLength - 1) * sourceLength, count: sourceLength)
            var detail: RelevanceDetail?
            if keepingDetail {
                func maps(_ gradients: [[Float]], _ weighted: [Tensor?]) -> [RelevanceDetail.Map] {
                    zip(gradients, weighted).map { .init(gradient: $0, weighted: backend.read($1!)) }
                }
                detail = RelevanceDetail(
                    encoder: maps(encoderGradients, encoderWeighted), decoderSelf: maps(selfGradients, selfWeighted),
                    cross: maps(crossGradients, crossWeighted),
                    encoderRelevance: backend.read(matrices.encoder!), decoderRelevance: backend.read(matrices.decoder),
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

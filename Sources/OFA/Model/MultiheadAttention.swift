// OFA attention, written once for self and cross attention. Matches modelscope OFAAttention: the query is scaled
// after its bias by (head_dim·attn_scale_factor)^-½, the position bias is added before the mask, and each head's
// output is multiplied by c_attn before out_proj.

struct MultiheadAttention {
    let query: Linear
    let key: Linear
    let value: Linear
    let output: Linear
    let headScale: Tensor
    /// Ones, for the backward pass's products that no head scale multiplies.
    let unitHeadScale: Tensor
    let heads: Int
    let scale: Float
    let backend: Backend

    init(_ scope: WeightScope, backend: Backend, width: Int, heads: Int, scale: Float) throws {
        query = try Linear(scope.scope("q_proj"), backend: backend, inputs: width, outputs: width)
        key = try Linear(scope.scope("k_proj"), backend: backend, inputs: width, outputs: width)
        value = try Linear(scope.scope("v_proj"), backend: backend, inputs: width, outputs: width)
        output = try Linear(scope.scope("out_proj"), backend: backend, inputs: width, outputs: width)
        headScale = try scope.tensor("c_attn", shape: [heads])
        unitHeadScale = backend.makeTensor(shape: [heads], values: Array(repeating: 1, count: heads))
        self.heads = heads
        self.scale = scale
        self.backend = backend
    }

    /// Keys and values for `memory` (the encoder output, for cross attention), computed once per request.
    func keysAndValues(_ memory: Tensor) -> (keys: Tensor, values: Tensor) {
        (key(memory), value(memory))
    }

    /// `input [T, d]` attends to `memory` (itself when nil) with `bias` ([H, T, S] in all); returns [T, d].
    /// `record` sees the probabilities `[H, T, S]`; without it they are never held all at once.
    /// Without `record`, each input lets go of what it no longer needs as it goes (the input once projected).
    func callAsFunction(
        _ input: consuming Tensor, keysAndValues: (keys: Tensor, values: Tensor)? = nil, bias: AttentionBias,
        causal: Bool, record: ((Tensor) -> Void)?
    ) -> Tensor {
        guard let record else {
            let projectedQuery = query(input)
            backend.scaleInPlace(projectedQuery, by: scale)
            let (keys, values) = keysAndValues ?? self.keysAndValues(input)
            _ = consume input
            return output(
                backend.attention(
                    query: consume projectedQuery, key: consume keys, value: consume values, heads: heads,
                    headScale: headScale, bias: bias, causal: causal))
        }
        return forward(input, keysAndValues: keysAndValues, bias: bias, causal: causal, record: record).output
    }

    /// Whether `queries` rows attend to a memory through the key and value weights (`attentionScores(query:memory:…)`)
    /// rather than through keys and values made from it: fewer multiply-adds when heads · queries is well below d,
    /// as for the decoder's rows against the encoder's.
    static func projectsQueries(_ queries: Int, heads: Int, width: Int) -> Bool { 2 * heads * queries <= width }

    /// `input [T, d]` attends to `memory [S, d]` (the encoder output) with `bias` ([H, T, S]); the same as with
    /// `keysAndValues(memory)`, without making them where the query's few rows make that cheaper.
    func callAsFunction(_ input: Tensor, memory: Tensor, bias: AttentionBias, record: ((Tensor) -> Void)?) -> Tensor {
        guard MultiheadAttention.projectsQueries(input.shape[0], heads: heads, width: input.shape[1]) else {
            return self(input, keysAndValues: keysAndValues(memory), bias: bias, causal: false, record: record)
        }
        let projectedQuery = query(input)
        backend.scaleInPlace(projectedQuery, by: scale)
        let scores = backend.attentionScores(
            query: projectedQuery, memory: memory, keyWeight: key.weight, keyBias: key.bias, heads: heads)
        backend.attentionSoftmaxInPlace(scores, bias: bias, causal: false)
        record?(scores)
        return output(
            backend.attentionContext(
                probabilities: scores, memory: memory, valueWeight: value.weight, valueBias: value.bias, heads: heads,
                headScale: headScale))
    }

    /// The forward pass and what its backward pass reads (references to tensors it made anyway).
    func forward(
        _ input: Tensor, keysAndValues: (keys: Tensor, values: Tensor)? = nil, bias: AttentionBias,
        causal: Bool, record: (Tensor) -> Void
    ) -> (output: Tensor, trace: AttentionTrace) {
        let projectedQuery = query(input)
        backend.scaleInPlace(projectedQuery, by: scale)
        let (keys, values) = keysAndValues ?? self.keysAndValues(input)
        let scores = backend.attentionScores(query: projectedQuery, key: keys, heads: heads)
        backend.attentionSoftmaxInPlace(scores, bias: bias, causal: causal)
        record(scores)
        let context = backend.attentionContext(
            probabilities: scores, value: values, heads: heads,
            headScale: headScale)
        let trace = AttentionTrace(query: projectedQuery, keys: keys, values: values, probabilities: scores)
        return (output(context), trace)
    }

    /// Gradients of one forward pass for `gradient` ∂y/∂output: the input's through the query, and the memory's
    /// through the keys and values (for self attention the caller adds the two). `visit` sees the probabilities'
    /// gradient ∇A `[H, T, S]` before its memory is reused for the scores' gradient. Without `inputs` (the first
    /// layer, whose input gradient nobody reads) the pass stops after `visit` and returns nil.
    func backward(_ gradient: Tensor, trace: AttentionTrace, inputs: Bool = true, visit: (Tensor) -> Void)
        -> AttentionGradients?
    {
        let context = backend.linearInputGradient(gradient, weight: output.weight)
        let scores = backend.attentionProbabilityGradient(
            contextGradient: context, value: trace.values, heads: heads, headScale: headScale)
        visit(scores)
        guard inputs else { return nil }
        let values = backend.attentionTransposedInputGradient(
            trace.probabilities, rows: context, heads: heads, headScale: headScale, weight: value.weight)
        backend.softmaxGradientInPlace(scores, probabilities: trace.probabilities)
        // The query is scaled after its projection: ∂/∂(projection) = scale · ∂/∂(scaled query).
        let projectedQuery = backend.attentionContext(
            probabilities: scores, value: trace.keys, heads: heads, headScale: unitHeadScale)
        backend.scaleInPlace(projectedQuery, by: scale)
        let keys = backend.attentionTransposedInputGradient(
            scores, rows: trace.query, heads: heads, headScale: nil, weight: key.weight)
        return AttentionGradients(
            query: backend.linearInputGradient(projectedQuery, weight: query.weight),
            memory: backend.add(keys, values))
    }
}

/// What the backward pass of one attention reads: the scaled query, keys, values and probabilities.
struct AttentionTrace {
    let query: Tensor
    let keys: Tensor
    let values: Tensor
    let probabilities: Tensor
}

/// ∂y/∂ of an attention's inputs: the input through the query, and the memory (the input itself for self
/// attention) through the keys and values.
struct AttentionGradients {
    let query: Tensor
    let memory: Tensor
}

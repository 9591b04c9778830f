// OFA attention, written once for self and cross attention. Matches modelscope OFAAttention: the query is scaled
// after its bias by (head_dim·attn_scale_factor)^-½, the position bias is added before the mask, and each head's
// output is multiplied by c_attn before out_proj.

/// A position bias: one shared `[H, T, S]` tensor plus relative terms looked up from per-layer bucket tables.
struct AttentionBias {
    struct Relative {
        let table: Tensor
        let buckets: Tensor
        let rowOffset: Int
        let columnOffset: Int
    }

    let absolute: Tensor
    var relative: [Relative] = []
}

struct MultiheadAttention {
    let query: Linear
    let key: Linear
    let value: Linear
    let output: Linear
    let headScale: Tensor
    let heads: Int
    let scale: Float
    let backend: Backend

    init(_ scope: WeightScope, backend: Backend, width: Int, heads: Int, scale: Float) throws {
        query = try Linear(scope.scope("q_proj"), backend: backend, inputs: width, outputs: width)
        key = try Linear(scope.scope("k_proj"), backend: backend, inputs: width, outputs: width)
        value = try Linear(scope.scope("v_proj"), backend: backend, inputs: width, outputs: width)
        output = try Linear(scope.scope("out_proj"), backend: backend, inputs: width, outputs: width)
        headScale = try scope.tensor("c_attn", shape: [heads])
        self.heads = heads
        self.scale = scale
        self.backend = backend
    }

    /// Keys and values for `memory` (the encoder output, for cross attention), computed once per request.
    func keysAndValues(_ memory: Tensor) -> (keys: Tensor, values: Tensor) {
        (key(memory), value(memory))
    }

    /// `input [T, d]` attends to `memory` (itself when nil) with `bias` ([H, T, S] in all); returns [T, d].
    func callAsFunction(
        _ input: Tensor, keysAndValues: (keys: Tensor, values: Tensor)? = nil, bias: AttentionBias,
        causal: Bool, record: (Tensor) -> Void
    ) -> Tensor {
        let projectedQuery = query(input)
        backend.scaleInPlace(projectedQuery, by: scale)
        let (keys, values) = keysAndValues ?? self.keysAndValues(input)
        let scores = backend.attentionScores(query: projectedQuery, key: keys, heads: heads, initial: bias.absolute)
        for term in bias.relative {
            backend.addBucketBiasInPlace(
                scores, table: term.table, buckets: term.buckets, rowOffset: term.rowOffset,
                columnOffset: term.columnOffset)
        }
        if causal { backend.causalMaskInPlace(scores) }
        backend.softmaxInPlace(scores)
        record(scores)
        let context = backend.attentionContext(
            probabilities: scores, value: values, heads: heads,
            headScale: headScale)
        return output(context)
    }
}

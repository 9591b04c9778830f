// OFA decoder for scoring: one pass over the decoder prompt, logits of its last row through the tied embedding.
// Matches modelscope OFADecoder.forward for text (no image codes), spec §4.

struct Decoder {
    let configuration: ModelConfiguration
    let tokenNorm: LayerNorm?
    let positions: Tensor
    let positionNorm: LayerNorm
    let selfPositionQuery: Linear
    let selfPositionKey: Linear
    let crossPositionQuery: Linear
    let crossPositionKey: Linear
    let tokenTables: [Tensor]
    let layers: [DecoderLayer]
    let finalNorm: LayerNorm
    let embedding: Tensor
    let backend: Backend

    init(_ scope: WeightScope, backend: Backend, configuration: ModelConfiguration, embedding: Tensor) throws {
        let width = configuration.modelDimension
        let heads = configuration.decoderAttentionHeads
        self.configuration = configuration
        self.embedding = embedding
        self.backend = backend
        tokenNorm = try LayerNorm.optional(
            scope.scope("layernorm_embedding"), backend: backend, width: width,
            present: configuration.layerNormEmbedding)
        positions = try scope.tensor("embed_positions.weight", shape: [configuration.maximumPositions + 2, width])
        positionNorm = try LayerNorm(scope.scope("pos_ln"), backend: backend, width: width)
        selfPositionQuery = try Linear(
            scope.scope("self_pos_q_linear"), backend: backend, inputs: width,
            outputs: width)
        selfPositionKey = try Linear(scope.scope("self_pos_k_linear"), backend: backend, inputs: width, outputs: width)
        crossPositionQuery = try Linear(
            scope.scope("cross_pos_q_linear"), backend: backend, inputs: width,
            outputs: width)
        crossPositionKey = try Linear(
            scope.scope("cross_pos_k_linear"), backend: backend, inputs: width,
            outputs: width)
        let tokenRows = PositionBuckets.tokenTableRows(bucketSize: configuration.tokenBucketSize)
        tokenTables = try (0..<configuration.decoderLayers).map {
            try scope.tensor("token_rel_pos_table_list.\($0).weight", shape: [tokenRows, heads])
        }
        layers = try (0..<configuration.decoderLayers).map {
            try DecoderLayer(scope.scope("layers.\($0)"), backend: backend, configuration: configuration)
        }
        finalNorm = try LayerNorm(scope.scope("layer_norm"), backend: backend, width: width)
    }

    /// Full-vocabulary logits `[V]` at the last position of `tokens`.
    func callAsFunction(
        tokens: [Int], encoder: EncoderOutput, recorder: AttentionRecorder?,
        probe: ForwardProbe?
    ) -> Tensor {
        let heads = configuration.decoderAttentionHeads
        let length = tokens.count
        let scale = configuration.attentionScale(heads: heads)
        var y = backend.gatherRows(
            embedding,
            indices: backend.makeIndices(
                shape: [length],
                values: tokens.map(Int32.init)))
        if configuration.scaleEmbedding {
            backend.scaleInPlace(y, by: Float(configuration.modelDimension).squareRoot())
        }
        y = tokenNorm(y)

        let positionRows = positionNorm(
            backend.gatherRows(
                positions, indices: backend.makeIndices(shape: [length], values: (0..<length).map(Int32.init))))
        let selfQuery = selfPositionQuery(positionRows)
        backend.scaleInPlace(selfQuery, by: scale)
        let selfBias = backend.attentionScores(
            query: selfQuery, key: selfPositionKey(positionRows), heads: heads,
            initial: nil)
        let crossQuery = crossPositionQuery(positionRows)
        backend.scaleInPlace(crossQuery, by: scale)
        let crossBias = backend.attentionScores(
            query: crossQuery, key: crossPositionKey(encoder.positions),
            heads: heads, initial: nil)
        let buckets = backend.makeIndices(
            shape: [length, length],
            values: PositionBuckets.token(
                length: length, bucketSize: configuration.tokenBucketSize,
                maximumPosition: configuration.maximumPositions))
        for (index, layer) in layers.enumerated() {
            let bias = AttentionBias(
                absolute: selfBias,
                relative: [
                    .init(table: tokenTables[index], buckets: buckets, rowOffset: 0, columnOffset: 0)
                ])
            let memory = layer.crossAttention.keysAndValues(encoder.hidden)
            y = layer(
                y, memory: memory, selfBias: bias, crossBias: AttentionBias(absolute: crossBias),
                recordSelf: { recorder?.record(.decoderSelf, layer: index, probabilities: $0, backend: backend) },
                recordCross: { recorder?.record(.cross, layer: index, probabilities: $0, backend: backend) })
        }
        let last = backend.rows(finalNorm(y), (length - 1)..<length)
        let logits = backend.linear(last, weight: embedding, bias: nil, activation: .none)
        probe?.record("decoder_logits", logits, backend)
        return logits.reshaped([configuration.vocabularySize])
    }
}

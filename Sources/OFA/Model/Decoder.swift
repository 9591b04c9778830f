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
    /// Per layer, the relative position tables head by head: `[heads, buckets]` (the checkpoint's transposed).
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
            backend.transpose(try scope.tensor("token_rel_pos_table_list.\($0).weight", shape: [tokenRows, heads]))
        }
        layers = try (0..<configuration.decoderLayers).map {
            try DecoderLayer(scope.scope("layers.\($0)"), backend: backend, configuration: configuration)
        }
        finalNorm = try LayerNorm(scope.scope("layer_norm"), backend: backend, width: width)
    }

    /// The logits of the `answers` tokens `[answers.count]` at the last position of `tokens` (the probe sees the
    /// full vocabulary's, `[V]`). `positions`: where `tokens` stand in the prompt (nil: 0, 1, …), when some were
    /// left out as padding.
    func callAsFunction(
        tokens: [Int], positions: [Int]? = nil, answers: [Int], encoder: EncoderOutput, recorder: AttentionRecorder?,
        probe: ForwardProbe?
    ) -> Tensor {
        let prepared = input(tokens: tokens, positions: positions, encoder: encoder)
        var y = prepared.embedded
        for (index, layer) in layers.enumerated() {
            y = layer(
                y, memory: encoder.hidden, selfBias: prepared.selfBiases[index], crossBias: prepared.crossBias,
                recordSelf: recorder?.recording(.decoderSelf, layer: index, backend: backend),
                recordCross: recorder?.recording(.cross, layer: index, backend: backend))
        }
        let last = lastRow(y)
        if let probe { probe.record("decoder_logits", logits(lastRow: last), backend) }
        // Only the answers' rows of the tied embedding: its whole table (243 MB in float32 for OFA-large) is read
        // for three dot products otherwise.
        let rows = backend.gatherRows(
            embedding, indices: backend.makeIndices(shape: [answers.count], values: answers.map(Int32.init)))
        return backend.attentionScores(query: last, key: rows, heads: 1).reshaped([answers.count])
    }

    /// The same pass, keeping what `backward` reads.
    func forward(tokens: [Int], encoder: EncoderOutput) -> (logits: Tensor, trace: DecoderTrace) {
        let prepared = input(tokens: tokens, positions: nil, encoder: encoder)
        var y = prepared.embedded
        var traces: [DecoderLayerTrace] = []
        for (index, layer) in layers.enumerated() {
            let memory = layer.crossAttention.keysAndValues(encoder.hidden)
            let (output, trace) = layer.forward(
                y, memory: memory, selfBias: prepared.selfBiases[index], crossBias: prepared.crossBias)
            traces.append(trace)
            y = output
        }
        return (logits(lastRow: lastRow(y)), DecoderTrace(layers: traces, last: y))
    }

    /// The backward pass for y = Σ weight · logit[token] at the last position, last layer first: the visits see
    /// each layer's self and cross attention-probability gradients. Returns ∂y/∂(encoder output).
    func backward(
        target: [(token: Int, weight: Float)], trace: DecoderTrace, visitSelf: (Int, Tensor) -> Void,
        visitCross: (Int, Tensor) -> Void
    ) -> Tensor {
        let width = configuration.modelDimension
        let length = trace.last.shape[0]
        var logitGradient = [Float](repeating: 0, count: configuration.vocabularySize)
        for (token, weight) in target { logitGradient[token] += weight }
        let normalized = backend.linearInputGradient(
            backend.makeTensor(shape: [1, configuration.vocabularySize], values: logitGradient), weight: embedding)
        let lastRow = finalNorm.backward(normalized, input: backend.rows(trace.last, (length - 1)..<length))
        var g = length > 1 ? backend.concatenateRows(backend.zeros(shape: [length - 1, width]), lastRow) : lastRow
        var memory: Tensor?
        for (index, (layer, layerTrace)) in zip(layers, trace.layers).enumerated().reversed() {
            let step = layer.backward(
                g, trace: layerTrace, input: index > 0, visitSelf: { visitSelf(index, $0) },
                visitCross: { visitCross(index, $0) })
            memory = memory.map { backend.add($0, step.memory) } ?? step.memory
            if let input = step.input { g = input }
        }
        return memory!
    }

    /// The last layer's last row `[1, d]` after the final norm (the only row the answers are read from).
    private func lastRow(_ y: Tensor) -> Tensor {
        let length = y.shape[0]
        return finalNorm(backend.rows(y, (length - 1)..<length))
    }

    /// Logits `[V]` of the last row `[1, d]` after the final norm.
    private func logits(lastRow last: Tensor) -> Tensor {
        backend.linear(last, weight: embedding, bias: nil, activation: .none)
            .reshaped([configuration.vocabularySize])
    }

    /// The first layer's input and the attention biases.
    private func input(tokens: [Int], positions kept: [Int]?, encoder: EncoderOutput) -> DecoderInput {
        let heads = configuration.decoderAttentionHeads
        let length = tokens.count
        let places = kept ?? Array(0..<length)
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
                positions, indices: backend.makeIndices(shape: [length], values: places.map(Int32.init))))
        let selfQuery = selfPositionQuery(positionRows)
        backend.scaleInPlace(selfQuery, by: scale)
        let selfBias = backend.attentionScores(
            query: selfQuery, key: selfPositionKey(positionRows), heads: heads)
        let crossQuery = crossPositionQuery(positionRows)
        backend.scaleInPlace(crossQuery, by: scale)
        let width = configuration.modelDimension
        let crossBias =
            MultiheadAttention.projectsQueries(length, heads: heads, width: width)
            ? backend.attentionScores(
                query: crossQuery, memory: encoder.positions, keyWeight: crossPositionKey.weight,
                keyBias: crossPositionKey.bias, heads: heads)
            : backend.attentionScores(query: crossQuery, key: crossPositionKey(encoder.positions), heads: heads)
        let buckets = backend.makeIndices(
            shape: [length, length],
            values: PositionBuckets.token(
                positions: places, bucketSize: configuration.tokenBucketSize,
                maximumPosition: configuration.maximumPositions))
        let selfBiases = tokenTables.map { table in
            AttentionBias(
                absolute: selfBias, relative: [.init(table: table, buckets: buckets, rowOffset: 0, columnOffset: 0)])
        }
        return DecoderInput(embedded: y, selfBiases: selfBiases, crossBias: AttentionBias(absolute: crossBias))
    }
}

private struct DecoderInput {
    let embedded: Tensor
    let selfBiases: [AttentionBias]
    let crossBias: AttentionBias
}

/// The decoder's forward pass as its backward pass reads it: each layer's, and the last layer's output.
struct DecoderTrace {
    let layers: [DecoderLayerTrace]
    let last: Tensor
}

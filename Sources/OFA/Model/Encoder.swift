// OFA encoder: image patches then text tokens, absolute position bias shared by all layers plus per-layer relative
// biases (1-D buckets for text, 2-D for the patch grid). Matches modelscope OFAEncoder.forward (spec §2-§3).

/// A request-independent view of one image: embedded patch rows and their position rows, reused across hypotheses.
public struct ImageFeatures: @unchecked Sendable {
    /// `[P, d]`: patch_layernorm_embedding(image_proj(features) + type[1]).
    let patches: Tensor
    /// `[P, d]`: image_pos_ln(embed_image_positions[ids]).
    let positions: Tensor
    public let grid: PatchGrid
    /// The grid's patches these rows are, row-major, when only some are (nil: all, in order).
    let kept: [Int]?
    /// In bfloat16, what a close call needs to make the features again (`OFAModel.classify`).
    let closeCall: CloseCallImage?

    init(patches: Tensor, positions: Tensor, grid: PatchGrid, kept: [Int]? = nil, closeCall: CloseCallImage? = nil) {
        self.patches = patches
        self.positions = positions
        self.grid = grid
        self.kept = kept
        self.closeCall = closeCall
    }

    /// The same features, keeping what a close call needs.
    func keepingCloseCall(_ closeCall: CloseCallImage) -> ImageFeatures {
        ImageFeatures(patches: patches, positions: positions, grid: grid, kept: kept, closeCall: closeCall)
    }

    /// Patches in the encoder sequence.
    var count: Int { kept?.count ?? grid.count }

    /// Only `patches` (grid indices, increasing) of this image, as if the others were padding: the reference masks
    /// them as keys (−∞ before every softmax that reads the encoder), so they add exactly nothing; leaving them out
    /// is the same computation on fewer rows. The ResNet does not run again.
    func keeping(_ patches: [Int], backend: Backend) -> ImageFeatures {
        precondition(kept == nil && patches.allSatisfy { (0..<grid.count).contains($0) }, "patches of the grid")
        let indices = backend.makeIndices(shape: [patches.count], values: patches.map(Int32.init))
        return ImageFeatures(
            patches: backend.gatherRows(self.patches, indices: indices),
            positions: backend.gatherRows(positions, indices: indices), grid: grid, kept: patches)
    }

    /// Bytes the two tensors hold; in bfloat16, also the pixels and room for the features a close call makes.
    public var byteCount: Int {
        let tensors = patches.count * patches.elementType.byteCount + positions.count * positions.elementType.byteCount
        guard let closeCall else { return tensors }
        return 2 * tensors + closeCall.pixels.count * MemoryLayout<Float>.size
    }
}

struct EncoderOutput {
    /// `[S, d]` after encoder.layer_norm.
    let hidden: Tensor
    /// `[S, d]` LayerNormed position rows (image then text), used again by the decoder's cross bias.
    let positions: Tensor
}

struct Encoder {
    let configuration: ModelConfiguration
    let resnet: ResNet
    let imageProjection: Linear
    let typeEmbedding: Tensor?
    let patchNorm: LayerNorm?
    let tokenNorm: LayerNorm?
    let textPositions: Tensor
    let imagePositions: Tensor
    let textPositionNorm: LayerNorm
    let imagePositionNorm: LayerNorm
    let positionQuery: Linear
    let positionKey: Linear
    /// Per layer, the relative position tables head by head: `[heads, buckets]` (the checkpoint's transposed).
    let tokenTables: [Tensor]
    let imageTables: [Tensor]
    let layers: [EncoderLayer]
    let finalNorm: LayerNorm
    let embedding: Tensor
    let backend: Backend

    /// `imageSize`: the side of the images the backbone's weights are laid out for (others work, more slowly).
    init(
        _ scope: WeightScope, backend: Backend, configuration: ModelConfiguration, embedding: Tensor, imageSize: Int
    ) throws {
        let width = configuration.modelDimension
        let heads = configuration.encoderAttentionHeads
        self.configuration = configuration
        self.embedding = embedding
        self.backend = backend
        resnet = try ResNet(
            scope.scope("embed_images"), backend: backend, blocks: configuration.resnetBlocks, imageSize: imageSize)
        imageProjection = try Linear(
            scope.scope("image_proj"), backend: backend, inputs: ResNet.outputChannels,
            outputs: width)
        typeEmbedding =
            configuration.addTypeEmbedding
            ? try scope.tensor("type_embedding.weight", shape: [2, width]) : nil
        patchNorm = try LayerNorm.optional(
            scope.scope("patch_layernorm_embedding"), backend: backend, width: width,
            present: configuration.patchLayerNormEmbedding)
        tokenNorm = try LayerNorm.optional(
            scope.scope("layernorm_embedding"), backend: backend, width: width,
            present: configuration.layerNormEmbedding)
        textPositions = try scope.tensor("embed_positions.weight", shape: [configuration.maximumPositions + 2, width])
        let bucket = configuration.imageBucketSize
        imagePositions = try scope.tensor("embed_image_positions.weight", shape: [bucket * bucket + 1, width])
        textPositionNorm = try LayerNorm(scope.scope("pos_ln"), backend: backend, width: width)
        imagePositionNorm = try LayerNorm(scope.scope("image_pos_ln"), backend: backend, width: width)
        positionQuery = try Linear(scope.scope("pos_q_linear"), backend: backend, inputs: width, outputs: width)
        positionKey = try Linear(scope.scope("pos_k_linear"), backend: backend, inputs: width, outputs: width)
        let tokenRows = PositionBuckets.tokenTableRows(bucketSize: configuration.tokenBucketSize)
        let imageRows = PositionBuckets.imageTableRows(bucketSize: bucket)
        tokenTables = try (0..<configuration.encoderLayers).map {
            backend.transpose(try scope.tensor("token_rel_pos_table_list.\($0).weight", shape: [tokenRows, heads]))
        }
        imageTables = try (0..<configuration.encoderLayers).map {
            backend.transpose(try scope.tensor("image_rel_pos_table_list.\($0).weight", shape: [imageRows, heads]))
        }
        layers = try (0..<configuration.encoderLayers).map {
            try EncoderLayer(scope.scope("layers.\($0)"), backend: backend, configuration: configuration)
        }
        finalNorm = try LayerNorm(scope.scope("layer_norm"), backend: backend, width: width)
    }

    var embeddingScale: Float {
        configuration.scaleEmbedding ? Float(configuration.modelDimension).squareRoot() : 1
    }

    /// ResNet output `[h, w, 1024]` for a `[3, H, W]` image.
    func backbone(_ image: Tensor) -> Tensor { resnet(image) }

    /// Patch rows and position rows for backbone features `[h, w, 1024]`.
    func imageFeatures(backbone features: Tensor) -> ImageFeatures {
        let rows = features.shape[0]
        let columns = features.shape[1]
        let flat = features.reshaped([rows * columns, ResNet.outputChannels])
        var patches = imageProjection(flat)
        if let typeEmbedding {
            patches = backend.addRow(
                patches, row: backend.rows(typeEmbedding, 1..<2).reshaped([configuration.modelDimension]),
                scale: embeddingScale)
        } else if embeddingScale != 1 {
            backend.scaleInPlace(patches, by: embeddingScale)
        }
        let bucket = configuration.imageBucketSize
        var ids: [Int32] = []
        for r in 0..<rows { for c in 0..<columns { ids.append(Int32(r * bucket + c + 1)) } }
        let positions = imagePositionNorm(
            backend.gatherRows(
                imagePositions,
                indices: backend.makeIndices(shape: [ids.count], values: ids)))
        return ImageFeatures(
            patches: patchNorm(patches), positions: positions, grid: PatchGrid(rows: rows, columns: columns))
    }

    /// Runs the encoder on one image and one source sequence.
    /// `positions`: where `tokens` stand in the source (nil: 0, 1, …), when some were left out as padding.
    func callAsFunction(
        image: ImageFeatures, tokens: [Int], positions: [Int]? = nil, recorder: AttentionRecorder?,
        probe: ForwardProbe?
    ) -> EncoderOutput {
        let prepared = input(image: image, tokens: tokens, positions: positions, probe: probe)
        var x = prepared.embedded
        for (index, layer) in layers.enumerated() {
            x = layer(
                x, bias: prepared.biases[index], record: recorder?.recording(.encoder, layer: index, backend: backend))
            probe?.record("encoder_layer.\(index)", x, backend)
        }
        let hidden = finalNorm(x)
        probe?.record("encoder_output", hidden, backend)
        return EncoderOutput(hidden: hidden, positions: positionRows(image: image, text: prepared.textPositions))
    }

    /// The same pass, keeping what `backward` reads.
    func forward(image: ImageFeatures, tokens: [Int]) -> (output: EncoderOutput, trace: EncoderTrace) {
        let prepared = input(image: image, tokens: tokens, positions: nil, probe: nil)
        var x = prepared.embedded
        var traces: [EncoderLayerTrace] = []
        for (index, layer) in layers.enumerated() {
            let (output, trace) = layer.forward(x, bias: prepared.biases[index])
            traces.append(trace)
            x = output
        }
        let output = EncoderOutput(
            hidden: finalNorm(x), positions: positionRows(image: image, text: prepared.textPositions))
        return (output, EncoderTrace(layers: traces, last: x))
    }

    /// The position rows, image then text `[S, d]`: made again after the layers (a copy) rather than held through
    /// them, one rows' buffer fewer at the layers' peak.
    private func positionRows(image: ImageFeatures, text: Tensor) -> Tensor {
        backend.concatenateRows(image.positions, text)
    }

    /// The backward pass for ∂y/∂(encoder output), last layer first: `visit(layer, ∇A)` sees each layer's
    /// attention-probability gradient (its memory is reused right after).
    func backward(_ gradient: Tensor, trace: EncoderTrace, visit: (Int, Tensor) -> Void) {
        var g = finalNorm.backward(gradient, input: trace.last)
        for (index, (layer, layerTrace)) in zip(layers, trace.layers).enumerated().reversed() {
            // Nothing reads the first layer's input gradient.
            guard let input = layer.backward(g, trace: layerTrace, input: index > 0, visit: { visit(index, $0) })
            else { break }
            g = input
        }
    }

    /// The first layer's input, the position rows, and each layer's attention bias.
    private func input(image: ImageFeatures, tokens: [Int], positions kept: [Int]?, probe: ForwardProbe?)
        -> EncoderInput
    {
        let width = configuration.modelDimension
        let heads = configuration.encoderAttentionHeads
        let patchCount = image.count
        let length = tokens.count
        let tokenIndices = backend.makeIndices(shape: [length], values: tokens.map(Int32.init))
        var text = backend.gatherRows(embedding, indices: tokenIndices)
        if let typeEmbedding {
            text = backend.addRow(
                text, row: backend.rows(typeEmbedding, 0..<1).reshaped([width]), scale: embeddingScale)
        } else if embeddingScale != 1 {
            backend.scaleInPlace(text, by: embeddingScale)
        }
        let x = backend.concatenateRows(image.patches, tokenNorm(text))
        probe?.record("encoder_input", x, backend)

        let textPlaces = kept ?? Array(0..<length)
        let positionIndices = backend.makeIndices(shape: [length], values: textPlaces.map(Int32.init))
        let textPositionRows = textPositionNorm(backend.gatherRows(textPositions, indices: positionIndices))
        let positions = self.positionRows(image: image, text: textPositionRows)
        let query = positionQuery(positions)
        backend.scaleInPlace(query, by: configuration.attentionScale(heads: heads))
        let absoluteBias = backend.attentionScores(
            query: query, key: positionKey(positions), heads: heads)
        probe?.record("position_bias", absoluteBias, backend)

        let tokenBuckets = backend.makeIndices(
            shape: [length, length],
            values: PositionBuckets.token(
                positions: textPlaces, bucketSize: configuration.tokenBucketSize,
                maximumPosition: configuration.maximumPositions))
        let imageBuckets = backend.makeIndices(
            shape: [patchCount, patchCount],
            values: PositionBuckets.image(
                rows: image.grid.rows, columns: image.grid.columns,
                bucketSize: configuration.imageBucketSize, patches: image.kept))
        let biases = layers.indices.map { index in
            AttentionBias(
                absolute: absoluteBias,
                relative: [
                    .init(
                        table: tokenTables[index], buckets: tokenBuckets, rowOffset: patchCount,
                        columnOffset: patchCount),
                    .init(table: imageTables[index], buckets: imageBuckets, rowOffset: 0, columnOffset: 0),
                ])
        }
        return EncoderInput(embedded: x, textPositions: textPositionRows, biases: biases)
    }
}

private struct EncoderInput {
    let embedded: Tensor
    /// The text's position rows `[L, d]` (the image's are its features').
    let textPositions: Tensor
    let biases: [AttentionBias]
}

/// The encoder's forward pass as its backward pass reads it: each layer's, and the last layer's output.
struct EncoderTrace {
    let layers: [EncoderLayerTrace]
    let last: Tensor
}

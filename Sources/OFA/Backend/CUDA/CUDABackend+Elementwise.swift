// The CUDA backend's elementwise kernels and data movement: LayerNorm, sums, the attention softmax with its position
// biases, gathers, row slices and concatenation, transposes, copies, activations, max-pool.

extension CUDABackend {
    public func layerNorm(_ input: Tensor, weight: Tensor, bias: Tensor, epsilon: Float) -> Tensor {
        let width = input.shape.last!
        let output = empty(input.shape)
        launch(
            "ofa_layer_norm", rows: input.count / width,
            [
                address(input), address(output), .long(input.count / width), .long(width), address(weight),
                address(bias), .float(epsilon),
            ])
        return output
    }

    public func layerNormInPlace(_ tensor: Tensor, weight: Tensor, bias: Tensor, epsilon: Float) {
        let width = tensor.shape.last!
        // A row's lanes read it whole (its moments) before each writes the elements it read.
        launch(
            "ofa_layer_norm", rows: tensor.count / width,
            [
                address(tensor), address(tensor), .long(tensor.count / width), .long(width), address(weight),
                address(bias), .float(epsilon),
            ])
    }

    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.count == b.count, "add: \(a.shape) vs \(b.shape)")
        let output = empty(a.shape)
        launch("ofa_add", over: a.count, [address(output), address(a), address(b), .long(a.count)])
        return output
    }

    public func addInPlace(_ a: Tensor, _ b: Tensor) {
        precondition(a.count == b.count, "add: \(a.shape) vs \(b.shape)")
        launch("ofa_add", over: a.count, [address(a), address(a), address(b), .long(a.count)])
    }

    public func addRow(_ input: Tensor, row: Tensor, scale: Float) -> Tensor {
        let output = empty(input.shape)
        launch(
            "ofa_add_row", over: input.count,
            [
                address(output), address(input), address(row), .float(scale), .long(input.count / row.count),
                .long(row.count),
            ])
        return output
    }

    public func scaleInPlace(_ tensor: Tensor, by factor: Float) {
        launch("ofa_scale", over: tensor.count, [address(tensor), .float(factor), .long(tensor.count)])
    }

    public func attentionSoftmaxInPlace(_ scores: Tensor, bias: AttentionBias, causal: Bool) {
        precondition(
            bias.absolute.shape == scores.shape, "softmax: scores \(scores.shape), bias \(bias.absolute.shape)")
        let (heads, queries, keys) = (scores.shape[0], scores.shape[1], scores.shape[2])
        for term in bias.relative {
            let (rows, columns) = (term.buckets.shape[0], term.buckets.shape[1])
            term.checkFits(heads: heads, queries: queries, keys: keys)
            precondition(
                ((term.buckets.layout as? IndexRange)?.maximum ?? -1) < term.table.shape[1], "bucket past the table")
            launch(
                "ofa_add_bucket_bias", over: heads * rows * columns,
                [
                    address(scores), .long(heads), .long(queries), .long(keys), address(term.table),
                    .long(term.table.shape[1]), address(term.buckets), .long(rows), .long(columns),
                    .long(term.rowOffset), .long(term.columnOffset),
                ])
        }
        launch(
            "ofa_attention_softmax", rows: heads * queries,
            [
                address(scores), address(bias.absolute), .long(heads), .long(queries), .long(keys), .long(0),
                .long(queries), .int(causal ? 1 : 0),
            ])
    }

    public func gatherRows(_ table: Tensor, indices: Tensor) -> Tensor {
        let width = table.shape[1]
        precondition(
            ((indices.layout as? IndexRange)?.maximum ?? -1) < table.shape[0], "gather: an index past the table")
        let output = empty([indices.count, width])
        launch(
            "ofa_gather_rows", over: indices.count * width,
            [address(output), address(table), address(indices), .long(indices.count), .long(width)])
        return output
    }

    public func concatenateRows(_ a: Tensor, _ b: Tensor) -> Tensor {
        let width = a.shape.last!
        precondition(b.shape.last == width, "concatenate: \(a.shape) and \(b.shape)")
        let output = empty([a.count / width + b.count / width, width])
        copy(address(a), to: address(output), count: a.count)
        copy(address(b), to: address(output) + UInt64(a.count * 4), count: b.count)
        return output
    }

    public func rows(_ input: Tensor, _ range: Range<Int>) -> Tensor {
        let width = input.shape.last!
        precondition(
            range.lowerBound >= 0 && range.upperBound <= input.count / width, "rows \(range) of \(input.shape)")
        let output = empty([range.count, width])
        copy(address(input) + UInt64(range.lowerBound * width * 4), to: address(output), count: range.count * width)
        return output
    }

    public func transpose(_ input: Tensor) -> Tensor {
        precondition(input.rank == 2, "transpose: \(input.shape)")
        let output = empty([input.shape[1], input.shape[0]])
        launch(
            "ofa_transpose", over: input.count,
            [address(output), address(input), .long(input.shape[0]), .long(input.shape[1])])
        return output
    }

    public func copy(_ input: Tensor) -> Tensor {
        let output = empty(input.shape)
        copy(address(input), to: address(output), count: input.count)
        return output
    }

    /// ofa_epilogue's activation codes.
    static func code(_ activation: Activation) -> Int32 {
        switch activation {
        case .none: 0
        case .relu: 1
        case .gelu: 2
        }
    }

    /// In place: + bias[j] + residual, then the activation, over rows of `width`.
    func epilogue(_ x: Tensor, width: Int, bias: Tensor?, residual: Tensor?, activation: Activation) {
        guard bias != nil || residual != nil || activation != .none else { return }
        launch(
            "ofa_epilogue", over: x.count,
            [
                address(x), address(bias), address(residual), .long(x.count / width), .long(width),
                .int(CUDABackend.code(activation)),
            ])
    }

    public func activate(_ input: Tensor, _ activation: Activation) -> Tensor {
        let output = copy(input)
        epilogue(output, width: input.shape.last ?? 1, bias: nil, residual: nil, activation: activation)
        return output
    }

    public func maxPool(_ input: Tensor, geometry: ConvolutionGeometry) -> Tensor {
        let (height, width, channels) = (input.shape[0], input.shape[1], input.shape[2])
        let (outHeight, outWidth) = (geometry.outputSize(height), geometry.outputSize(width))
        let output = empty([outHeight, outWidth, channels])
        launch(
            "ofa_max_pool", over: output.count,
            [
                address(output), address(input), .long(height), .long(width), .long(channels), .long(geometry.kernel),
                .long(geometry.stride), .long(geometry.padding), .long(outHeight), .long(outWidth),
            ])
        return output
    }

    public func zeroNaNInPlace(_ tensor: Tensor) {
        launch("ofa_zero_nan", over: tensor.count, [address(tensor), .long(tensor.count)])
    }
}

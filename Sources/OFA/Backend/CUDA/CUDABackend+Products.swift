// The CUDA backend's products through cuBLAS (row-major views of its column-major calls, heads as strided batches),
// with the kernels for what comes around them: the epilogue, the per-head scales, the softmax, im2col; and the
// gradients of the relevance backward pass.

extension CUDABackend {
    /// Row-major `c = op(a) · op(b)` into `c` (zeros when k is 0).
    func multiply(
        m: Int, n: Int, k: Int, a: Tensor, lda: Int, transposingA: Bool = false, b: Tensor, ldb: Int,
        transposingB: Bool = false, c: Tensor, ldc: Int, batch: Int = 1, strideA: Int = 0, strideB: Int = 0,
        strideC: Int = 0
    ) {
        guard m > 0 && n > 0 else { return }
        guard k > 0 else {
            run { queue throws(CUDAError) in try queue.fill(address(c), word: 0, count: c.count) }
            return
        }
        let product = ColumnMajorProduct.rowMajor(
            m: m, n: n, k: k, a: address(a), lda: lda, transposingA: transposingA, b: address(b), ldb: ldb,
            transposingB: transposingB, c: address(c), ldc: ldc, batch: batch, strideA: strideA, strideB: strideB,
            strideC: strideC)
        run { queue throws(CUDAError) in try queue.multiply(product) }
    }

    /// x[i] ·= scales[(i / group) % groups].
    func scaleGroups(_ x: Tensor, by scales: Tensor, group: Int, groups: Int) {
        launch(
            "ofa_scale_groups", over: x.count,
            [address(x), address(scales), .long(x.count), .long(group), .long(groups)])
    }

    public func linear(_ input: Tensor, weight: Tensor, bias: Tensor?, activation: Activation) -> Tensor {
        let (outputs, inputs) = (weight.shape[0], weight.shape[1])
        precondition(input.shape.last == inputs, "linear: input \(input.shape) vs weight \(weight.shape)")
        let rows = input.count / inputs
        let output = empty(Array(input.shape.dropLast()) + [outputs])
        multiply(
            m: rows, n: outputs, k: inputs, a: input, lda: inputs, b: weight, ldb: inputs, transposingB: true,
            c: output, ldc: outputs)
        epilogue(output, width: outputs, bias: bias, residual: nil, activation: activation)
        return output
    }

    /// Per head h: `rows[:, h] · columns[:, h]ᵀ` → [heads, n, m].
    func headProducts(_ rows: Tensor, _ columns: Tensor, heads: Int) -> Tensor {
        let (queries, keys, width) = (rows.shape[0], columns.shape[0], rows.shape[1])
        let headWidth = width / heads
        let output = empty([heads, queries, keys])
        multiply(
            m: queries, n: keys, k: headWidth, a: rows, lda: width, b: columns, ldb: width, transposingB: true,
            c: output, ldc: keys, batch: heads, strideA: headWidth, strideB: headWidth, strideC: queries * keys)
        return output
    }

    public func attentionScores(query: Tensor, key: Tensor, heads: Int) -> Tensor {
        headProducts(query, key, heads: heads)
    }

    public func attentionContext(probabilities: Tensor, value: Tensor, heads: Int, headScale: Tensor) -> Tensor {
        let (queries, keys, width) = (probabilities.shape[1], probabilities.shape[2], value.shape[1])
        let headWidth = width / heads
        let output = empty([queries, width])
        multiply(
            m: queries, n: headWidth, k: keys, a: probabilities, lda: keys, b: value, ldb: width, c: output,
            ldc: width, batch: heads, strideA: queries * keys, strideB: headWidth, strideC: headWidth)
        scaleGroups(output, by: headScale, group: headWidth, groups: heads)
        return output
    }

    public func attention(
        query: consuming Tensor, key: consuming Tensor, value: consuming Tensor, heads: Int, headScale: Tensor,
        bias: AttentionBias, causal: Bool
    ) -> Tensor {
        let scores = attentionScores(query: query, key: key, heads: heads)
        attentionSoftmaxInPlace(scores, bias: bias, causal: causal)
        return attentionContext(probabilities: scores, value: value, heads: heads, headScale: headScale)
    }

    public func convolution(
        _ input: Tensor, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry, residual: Tensor?,
        activation: Activation
    ) -> Tensor {
        precondition(weight.layout is ChannelsLast, "convolution: the weight was not made by prepareConvolutionWeight")
        let (height, width, channels) = (input.shape[0], input.shape[1], input.shape[2])
        let k = geometry.kernel
        let area = k * k * channels
        precondition(weight.shape[1] == area, "convolution: \(weight.shape) for \(channels) channels")
        let (outHeight, outWidth) = (geometry.outputSize(height), geometry.outputSize(width))
        let outputs = weight.shape[0]
        let pixels = outHeight * outWidth
        var columns = input
        if !(k == 1 && geometry.stride == 1 && geometry.padding == 0) {
            columns = empty([pixels, area])
            launch(
                "ofa_im2col", over: columns.count,
                [
                    address(columns), address(input), .long(height), .long(width), .long(channels), .long(k),
                    .long(geometry.stride), .long(geometry.padding), .long(outHeight), .long(outWidth),
                ])
        }
        let output = empty([outHeight, outWidth, outputs])
        multiply(
            m: pixels, n: outputs, k: area, a: columns, lda: area, b: weight, ldb: area, transposingB: true,
            c: output, ldc: outputs)
        if let residual { precondition(residual.shape == output.shape, "convolution: residual \(residual.shape)") }
        epilogue(output, width: outputs, bias: bias, residual: residual, activation: activation)
        return output
    }

    // MARK: Gradients

    public func linearInputGradient(_ gradient: Tensor, weight: Tensor) -> Tensor {
        let (outputs, inputs) = (weight.shape[0], weight.shape[1])
        precondition(gradient.shape.last == outputs, "linear gradient \(gradient.shape) vs weight \(weight.shape)")
        let rows = gradient.count / outputs
        let result = empty(Array(gradient.shape.dropLast()) + [inputs])
        multiply(
            m: rows, n: inputs, k: outputs, a: gradient, lda: outputs, b: weight, ldb: inputs, c: result, ldc: inputs)
        return result
    }

    public func activationGradient(_ gradient: Tensor, preActivation: Tensor, activation: Activation) -> Tensor {
        precondition(gradient.count == preActivation.count, "activation gradient \(gradient.shape)")
        let result = copy(gradient)
        launch(
            "ofa_activation_gradient", over: result.count,
            [address(result), address(preActivation), .long(result.count), .int(CUDABackend.code(activation))])
        return result
    }

    public func layerNormGradient(_ gradient: Tensor, input: Tensor, weight: Tensor, epsilon: Float) -> Tensor {
        let width = input.shape.last!
        precondition(gradient.count == input.count && weight.count == width, "layer norm gradient shapes")
        let result = empty(input.shape)
        launch(
            "ofa_layer_norm_gradient", rows: input.count / width,
            [
                address(input), address(gradient), address(result), .long(input.count / width), .long(width),
                address(weight), .float(epsilon),
            ])
        return result
    }

    public func attentionProbabilityGradient(
        contextGradient: Tensor, value: Tensor, heads: Int, headScale: Tensor
    ) -> Tensor {
        let result = headProducts(contextGradient, value, heads: heads)
        scaleGroups(result, by: headScale, group: result.shape[1] * result.shape[2], groups: heads)
        return result
    }

    public func attentionTransposedInputGradient(
        _ matrix: Tensor, rows: Tensor, heads: Int, headScale: Tensor?, weight: Tensor
    ) -> Tensor {
        let (queries, keys, width) = (matrix.shape[1], matrix.shape[2], rows.shape[1])
        let headWidth = width / heads
        precondition(weight.shape[0] == width, "transposed input gradient: rows \(rows.shape), weight \(weight.shape)")
        var scaled = rows
        if let headScale {
            scaled = copy(rows)
            scaleGroups(scaled, by: headScale, group: headWidth, groups: heads)
        }
        // V[:, h] = matrix[h]ᵀ · rows[:, h] → [keys, d], then V · weight.
        let combined = empty([keys, width])
        multiply(
            m: keys, n: headWidth, k: queries, a: matrix, lda: keys, transposingA: true, b: scaled, ldb: width,
            c: combined, ldc: width, batch: heads, strideA: queries * keys, strideB: headWidth, strideC: headWidth)
        return linearInputGradient(combined, weight: weight)
    }

    public func softmaxGradientInPlace(_ gradient: Tensor, probabilities: Tensor) {
        precondition(gradient.count == probabilities.count, "softmax gradient shapes")
        let width = probabilities.shape.last!
        launch(
            "ofa_softmax_gradient", rows: probabilities.count / width,
            [address(gradient), address(probabilities), .long(probabilities.count / width), .long(width)])
    }

    public func gradientWeightedMean(_ gradient: Tensor, probabilities: Tensor) -> Tensor {
        precondition(gradient.shape == probabilities.shape && gradient.rank == 3, "weighted mean shapes")
        let plane = gradient.shape[1] * gradient.shape[2]
        let result = empty(Array(gradient.shape.dropFirst()))
        launch(
            "ofa_gradient_weighted_mean", over: plane,
            [address(result), address(gradient), address(probabilities), .long(gradient.shape[0]), .long(plane)])
        return result
    }

    public func matrixProduct(_ a: Tensor, _ b: Tensor, transposingA: Bool) -> Tensor {
        let (m, n, k) = productSizes(a, b, transposingA: transposingA)
        let result = empty([m, n])
        multiply(
            m: m, n: n, k: k, a: a, lda: a.shape[1], transposingA: transposingA, b: b, ldb: n, c: result, ldc: n)
        return result
    }

    public func residualNormalized(_ relevance: Tensor) -> Tensor {
        let n = relevance.shape[0]
        precondition(relevance.shape == [n, n], "residual normalisation needs a square matrix")
        let result = empty([n, n])
        launch("ofa_residual_normalized", rows: n, [address(result), address(relevance), .long(n)])
        return result
    }
}

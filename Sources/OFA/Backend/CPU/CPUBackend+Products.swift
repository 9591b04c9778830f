// The CPU backend's products and convolutions, on oneDNN: linear layers, the attention products batched over
// contiguous heads, the gradients' `gemm`, and the channels-last convolutions on packed weights.
import Foundation

extension CPUBackend {
    // MARK: Products

    /// A batch of matrices inside a tensor: element (b, i, j) at `offset + b·batch + i·row + j·column`.
    struct Matrix {
        var tensor: Tensor
        var offset = 0
        var batch = 0
        var row: Int
        var column = 1
    }

    /// `c[b] = alpha · a[b] · b[b]` (+ c[b] when `accumulate`) for float32 `c` with rows `cRow` apart and batch
    /// entries `cBatch` apart. A float32 input meets a bfloat16 one as a bfloat16 copy, and so does every input in
    /// bfloat16 precision when `inPrecision` (the forward pass; gradients keep float32 activations).
    func multiply(
        batch: Int = 1, m: Int, n: Int, k: Int, _ a: Matrix, _ b: Matrix, into c: UnsafeMutablePointer<Float>,
        cBatch: Int = 0, cRow: Int, alpha: Float = 1, accumulate: Bool = false, inPrecision: Bool = true,
        bias: Tensor? = nil, activation: Activation = .none
    ) {
        let low =
            (precision == .bfloat16 && inPrecision) || a.tensor.elementType == .bfloat16
            || b.tensor.elementType == .bfloat16
        var copies: [(UnsafeMutableRawPointer, Int)] = []
        func operand(_ matrix: Matrix) -> OneDNN.Operand {
            let tensor = matrix.tensor
            var address = UnsafeRawPointer(tensor.buffer.address)
            if low && tensor.elementType == .float32 {
                let copy = pool.take(tensor.count * 2)
                library.convertToBFloat16(tensor.floats, into: copy, count: tensor.count)
                copies.append((copy, tensor.count * 2))
                address = UnsafeRawPointer(copy)
            }
            if let packed = tensor.layout as? OneDNN.PackedWeight {
                precondition(matrix.offset == 0 && packed.type == (low ? .bfloat16 : .float32), "packed operand")
                return OneDNN.Operand(
                    address: address, type: packed.type, batch: 0, row: 0, column: 0, packed: packed)
            }
            return OneDNN.Operand(
                address: address + matrix.offset * (low ? 2 : 4), type: low ? .bfloat16 : .float32,
                batch: matrix.batch, row: matrix.row, column: matrix.column)
        }
        count(batch * m * n * k)
        library.matmul(
            batch: batch, m: m, n: n, k: k, a: operand(a), b: operand(b), c: c, cBatch: cBatch, cRow: cRow,
            alpha: alpha, accumulate: accumulate, bias: bias.map { UnsafePointer($0.floats) }, activation: activation)
        for (address, bytes) in copies { pool.give(address, bytes: bytes) }
    }

    public func linear(_ input: Tensor, weight: Tensor, bias: Tensor?, activation: Activation) -> Tensor {
        let inputs = weight.shape[1]
        let outputs = weight.shape[0]
        precondition(input.shape.last == inputs, "linear: input \(input.shape) vs weight \(weight.shape)")
        let rows = input.count / inputs
        let output = empty(Array(input.shape.dropLast()) + [outputs])
        multiply(
            m: rows, n: outputs, k: inputs, Matrix(tensor: input, row: inputs),
            Matrix(tensor: weight, row: 1, column: inputs), into: output.floats, cRow: outputs, bias: bias,
            activation: activation)
        return output
    }

    public func attentionScores(query: Tensor, key: Tensor, heads: Int) -> Tensor {
        headProducts(query, key, heads: heads)
    }

    /// Per head h: `scales[h] · rows[:, h] · columns[:, h]ᵀ` → [heads, n, m] for `rows [n, d]` and `columns [m, d]`
    /// (the scores, and the gradient of the probabilities). Each head's rows and transposed columns contiguous
    /// (copies of [n, d], small next to the product) let oneDNN use its brgemm kernels.
    func headProducts(
        _ rows: Tensor, _ columns: Tensor, heads: Int, scales: UnsafePointer<Float>? = nil, inPrecision: Bool = true
    ) -> Tensor {
        let queries = rows.shape[0]
        let keys = columns.shape[0]
        let headWidth = rows.shape[1] / heads
        let output = empty([heads, queries, keys])
        multiply(
            batch: heads, m: queries, n: keys, k: headWidth,
            Matrix(tensor: splitHeads(rows, heads: heads, scales: scales), batch: queries * headWidth, row: headWidth),
            transposedKeys(columns, heads: heads, queries: queries),
            into: output.floats, cBatch: queries * keys, cRow: keys, inPrecision: inPrecision)
        return output
    }

    /// Below this many query rows the keys are read in place, transposed by their strides: for cross attention's
    /// decoder rows a transposed copy of the [S, d] keys (2 ms for OFA-large's) costs more than the product.
    static let transposedCopyRows = 64

    /// Per head h, `keys[:, h]ᵀ` `[headWidth, m]` as the B operand of a batched product over heads.
    func transposedKeys(_ keys: Tensor, heads: Int, queries: Int) -> Matrix {
        let count = keys.shape[0]
        let width = keys.shape[1]
        let headWidth = width / heads
        guard queries >= CPUBackend.transposedCopyRows else {
            return Matrix(tensor: keys, batch: headWidth, row: 1, column: width)
        }
        return Matrix(tensor: transpose(keys), batch: headWidth * count, row: count)
    }

    /// Query rows per block of `attention`: a block's scores (16 heads × 128 × 914 floats, 7.5 MB for OFA-large)
    /// stay in cache from their product through the softmax to the context product.
    static let attentionBlockRows = 128

    public func attention(
        query: consuming Tensor, key: consuming Tensor, value: consuming Tensor, heads: Int, headScale: Tensor,
        bias: AttentionBias, causal: Bool
    ) -> Tensor {
        let queries = query.shape[0]
        let keys = key.shape[0]
        let width = query.shape[1]
        let headWidth = width / heads
        precondition(bias.absolute.shape == [heads, queries, keys], "attention: bias \(bias.absolute.shape)")
        // Operands in the products' precision once, not once per block; each input goes once copied (where the
        // caller let go of it too), three rows' buffers fewer at the encoder's peak.
        let split = lowered(splitHeads(query, heads: heads))
        _ = consume query
        var transposed = transposedKeys(key, heads: heads, queries: queries)
        transposed.tensor = lowered(transposed.tensor)
        _ = consume key
        let values = lowered(splitHeads(value, heads: heads, scales: headScale.floats))
        _ = consume value
        let output = empty([queries, width])
        let block = min(queries, CPUBackend.attentionBlockRows)
        let scores = empty([heads, block, keys])
        var first = 0
        while first < queries {
            let rows = min(block, queries - first)
            multiply(
                batch: heads, m: rows, n: keys, k: headWidth,
                Matrix(tensor: split, offset: first * headWidth, batch: queries * headWidth, row: headWidth),
                transposed,
                into: scores.floats, cBatch: rows * keys, cRow: keys)
            attentionSoftmax(
                scores.floats, rows: rows, of: [heads, queries, keys], from: first, bias: bias, causal: causal)
            // Each head's context goes straight to its columns of the output rows.
            multiply(
                batch: heads, m: rows, n: headWidth, k: keys,
                Matrix(tensor: scores, batch: rows * keys, row: keys),
                Matrix(tensor: values, batch: keys * headWidth, row: headWidth),
                into: output.floats + first * width, cBatch: headWidth, cRow: width)
            first += rows
        }
        return output
    }

    public func attentionContext(probabilities: Tensor, value: Tensor, heads: Int, headScale: Tensor) -> Tensor {
        let queries = probabilities.shape[1]
        let keys = probabilities.shape[2]
        let width = value.shape[1]
        let headWidth = width / heads
        // One batched product over contiguous heads, each head's scale applied to its values and its result
        // written straight to its columns.
        let values = splitHeads(value, heads: heads, scales: headScale.floats)
        let output = empty([queries, width])
        multiply(
            batch: heads, m: queries, n: headWidth, k: keys,
            Matrix(tensor: probabilities, batch: queries * keys, row: keys),
            Matrix(tensor: values, batch: keys * headWidth, row: headWidth),
            into: output.floats, cBatch: headWidth, cRow: width)
        return output
    }

    /// `[n, heads·d]` → `[heads, n, d]`, each head's columns times its scale when `scales` are given.
    func splitHeads(_ input: Tensor, heads: Int, scales: UnsafePointer<Float>? = nil) -> Tensor {
        let rows = input.shape[0]
        let width = input.shape[1]
        let headWidth = width / heads
        let output = empty([heads, rows, headWidth])
        parallel(rows, cost: width) { range in
            for row in range {
                for head in 0..<heads {
                    let source = input.floats + row * width + head * headWidth
                    let target = output.floats + (head * rows + row) * headWidth
                    if let scales {
                        let scale = scales[head]
                        for j in 0..<headWidth { target[j] = source[j] * scale }
                    } else {
                        target.update(from: source, count: headWidth)
                    }
                }
            }
        }
        return output
    }

    /// Row-major product of two tensors viewed as matrices (float32 unless one is a bfloat16 weight): `c = alpha · op(a) · op(b) + beta · c`,
    /// op transposing where asked; m × n result, k inner, `lda`/`ldb`/`ldc` the row lengths as stored.
    func gemm(
        transposingA: Bool, transposingB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        _ a: Tensor, offsetA: Int = 0, _ lda: Int, _ b: Tensor, offsetB: Int = 0, _ ldb: Int, beta: Float,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        precondition(beta == 0 || beta == 1, "gemm: beta 0 or 1")
        multiply(
            m: m, n: n, k: k,
            Matrix(tensor: a, offset: offsetA, row: transposingA ? 1 : lda, column: transposingA ? lda : 1),
            Matrix(tensor: b, offset: offsetB, row: transposingB ? 1 : ldb, column: transposingB ? ldb : 1),
            into: c, cRow: ldc, alpha: alpha, accumulate: beta == 1, inPrecision: false)
    }

    // MARK: Convolution

    public func convolution(
        _ input: Tensor, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry,
        residual: Tensor?, activation: Activation
    ) -> Tensor {
        let height = input.shape[0]
        let width = input.shape[1]
        let channels = input.shape[2]
        let outputs = weight.shape[0]
        guard let packed = weight.layout as? OneDNN.PackedWeight else {
            preconditionFailure("convolution: the weight was not made by prepareConvolutionWeight")
        }
        precondition(weight.shape[1] == channels * geometry.kernel * geometry.kernel, "convolution: \(weight.shape)")
        precondition(activation != .gelu, "convolution: ReLU or no activation")
        let output = empty([geometry.outputSize(height), geometry.outputSize(width), outputs])
        if let residual {
            precondition(residual.shape == output.shape, "convolution: residual \(residual.shape)")
            copyElements(from: residual.floats, to: output.floats, count: output.count)
        }
        var source = UnsafeRawPointer(input.floats)
        var copy: UnsafeMutableRawPointer?
        let inputType = Self.float32ConvolutionInputs ? .float32 : packed.type
        if inputType == .bfloat16 {
            let address = pool.take(input.count * 2)
            library.convertToBFloat16(input.floats, into: address, count: input.count)
            source = UnsafeRawPointer(address)
            copy = address
        }
        count(output.count * channels * geometry.kernel * geometry.kernel)
        library.convolution(
            input: source, channels: channels, height: height, width: width, weight: packed,
            weightAddress: UnsafeRawPointer(weight.buffer.address), outputs: outputs, kernel: geometry.kernel,
            stride: geometry.stride, padding: geometry.padding, inputType: inputType, bias: bias.floats,
            output: output.floats, accumulate: residual != nil, relu: activation == .relu)
        if let copy { pool.give(copy, bytes: input.count * 2) }
        return output
    }

    /// Set inside `withFloat32ConvolutionInputs` (read by `convolution` on the calling thread).
    @TaskLocal static var float32ConvolutionInputs = false

    /// In bfloat16, each convolution's weight is then reordered to float32 for the call with its rounding residual
    /// added back (within 2⁻¹⁷ of the float32 weight), and its input is not rounded.
    public func withFloat32ConvolutionInputs<T>(_ body: () throws -> T) rethrows -> T {
        try Self.$float32ConvolutionInputs.withValue(true, operation: body)
    }

    public func maxPool(_ input: Tensor, geometry: ConvolutionGeometry) -> Tensor {
        let height = input.shape[0]
        let width = input.shape[1]
        let channels = input.shape[2]
        let outHeight = geometry.outputSize(height)
        let outWidth = geometry.outputSize(width)
        let output = empty([outHeight, outWidth, channels])
        let source = input.floats
        let destination = output.floats
        parallel(outHeight, cost: outWidth * channels * geometry.kernel * geometry.kernel) { range in
            for oy in range {
                let y0 = max(0, oy * geometry.stride - geometry.padding)
                let y1 = min(height, oy * geometry.stride - geometry.padding + geometry.kernel)
                for ox in 0..<outWidth {
                    let x0 = max(0, ox * geometry.stride - geometry.padding)
                    let x1 = min(width, ox * geometry.stride - geometry.padding + geometry.kernel)
                    let target = destination + (oy * outWidth + ox) * channels
                    target.initialize(repeating: -.infinity, count: channels)
                    for y in y0..<y1 {
                        for x in x0..<x1 {
                            let pixel = source + (y * width + x) * channels
                            for c in 0..<channels { target[c] = max(target[c], pixel[c]) }
                        }
                    }
                }
            }
        }
        return output
    }
}

// The CPU backend's gradient kernels (input gradients only) and the relevance rules' matrix steps; products through
// `gemm` (float32, except where a weight is stored in bfloat16), loops for the rest.
import Foundation

extension CPUBackend {
    public func activate(_ input: Tensor, _ activation: Activation) -> Tensor {
        let output = copy(input)
        let width = input.shape.last ?? 1
        let rows = input.count / max(width, 1)
        parallel(rows, cost: width) { range in
            for row in range { apply(activation, output.floats + row * width, width) }
        }
        return output
    }

    public func linearInputGradient(_ gradient: Tensor, weight: Tensor) -> Tensor {
        let outputs = weight.shape[0]
        let inputs = weight.shape[1]
        precondition(gradient.shape.last == outputs, "linear gradient \(gradient.shape) vs weight \(weight.shape)")
        let rows = gradient.count / outputs
        let result = empty(Array(gradient.shape.dropLast()) + [inputs])
        gemm(
            transposingA: false, transposingB: false, m: rows, n: inputs, k: outputs, alpha: 1,
            gradient, outputs, plain(weight), inputs, beta: 0, result.floats, inputs)
        return result
    }

    public func activationGradient(_ gradient: Tensor, preActivation: Tensor, activation: Activation) -> Tensor {
        precondition(gradient.count == preActivation.count, "activation gradient \(gradient.shape)")
        let result = copy(gradient)
        let g = result.floats
        let x = preActivation.floats
        switch activation {
        case .none: break
        case .relu: for i in 0..<result.count where x[i] <= 0 { g[i] = 0 }
        case .gelu:
            // d/dx x·Φ(x) = Φ(x) + x·φ(x), exact (erf) GELU as torch's backward; FastMath's erf and exp.
            let chunk = 16_384
            parallel((result.count + chunk - 1) / chunk, cost: chunk) { range in
                for i in (range.lowerBound * chunk)..<min(result.count, range.upperBound * chunk) {
                    let value = x[i]
                    let cumulative = 0.5 * (1 + FastMath.erf(value * 0.707_106_77))
                    let density = FastMath.exp(-0.5 * value * value) * 0.398_942_28
                    g[i] *= cumulative + value * density
                }
            }
        }
        return result
    }

    public func layerNormGradient(_ gradient: Tensor, input: Tensor, weight: Tensor, epsilon: Float) -> Tensor {
        let width = input.shape.last!
        precondition(gradient.count == input.count && weight.count == width, "layer norm gradient shapes")
        let rows = input.count / width
        let result = empty(input.shape)
        let gain = weight.floats
        parallel(rows, cost: width) { range in
            for row in range {
                let x = input.floats + row * width
                let g = gradient.floats + row * width
                let out = result.floats + row * width
                var sum: Float = 0
                for i in 0..<width { sum += x[i] }
                let mean = sum / Float(width)
                var squares: Float = 0
                for i in 0..<width { squares += (x[i] - mean) * (x[i] - mean) }
                let inverse = 1 / (squares / Float(width) + epsilon).squareRoot()
                var gradientMean: Float = 0
                var projection: Float = 0
                for i in 0..<width {
                    let scaled = g[i] * gain[i]
                    gradientMean += scaled
                    projection += scaled * (x[i] - mean)
                }
                gradientMean /= Float(width)
                projection *= inverse / Float(width)
                for i in 0..<width {
                    out[i] = inverse * (g[i] * gain[i] - gradientMean - (x[i] - mean) * inverse * projection)
                }
            }
        }
        return result
    }

    public func attentionProbabilityGradient(
        contextGradient: Tensor, value: Tensor, heads: Int, headScale: Tensor
    ) -> Tensor {
        // As the scores' product, each head's scale on its rows of the context gradient; float32 as every gradient.
        headProducts(contextGradient, value, heads: heads, scales: headScale.floats, inPrecision: false)
    }

    public func attentionTransposedInputGradient(
        _ matrix: Tensor, rows: Tensor, heads: Int, headScale: Tensor?, weight: Tensor
    ) -> Tensor {
        let queries = matrix.shape[1]
        let keys = matrix.shape[2]
        let width = rows.shape[1]
        let headWidth = width / heads
        let inputs = weight.shape[1]
        precondition(weight.shape[0] == width, "transposed input gradient: rows \(rows.shape), weight \(weight.shape)")
        guard heads * queries < width else {
            return linearInputGradient(
                attentionTransposedContext(matrix, rows: rows, heads: heads, headScale: headScale), weight: weight)
        }
        // Each head's (scaled) rows through its rows of the weight first, [heads·queries, in] in all, then one
        // product over every (head, query) pair: heads·queries inner instead of d.
        let through = empty([heads, queries, inputs])
        multiply(
            batch: heads, m: queries, n: inputs, k: headWidth,
            Matrix(
                tensor: splitHeads(rows, heads: heads, scales: headScale?.floats), batch: queries * headWidth,
                row: headWidth),
            Matrix(tensor: plain(weight), batch: headWidth * inputs, row: inputs),
            into: through.floats, cBatch: queries * inputs, cRow: inputs, inPrecision: false)
        let result = empty([keys, inputs])
        multiply(
            m: keys, n: inputs, k: heads * queries, Matrix(tensor: matrix, row: 1, column: keys),
            Matrix(tensor: through, row: inputs), into: result.floats, cRow: inputs, inPrecision: false)
        return result
    }

    /// Per head h: `headScale[h] · matrix[h]ᵀ · rows[:, h]` → [keys, d] (headScale nil: 1).
    func attentionTransposedContext(_ matrix: Tensor, rows: Tensor, heads: Int, headScale: Tensor?) -> Tensor {
        let queries = matrix.shape[1]
        let keys = matrix.shape[2]
        let width = rows.shape[1]
        let headWidth = width / heads
        precondition(rows.shape[0] == queries, "transposed context: \(matrix.shape) and rows \(rows.shape)")
        let result = empty([keys, width])
        // One batched product: each head's matrix read transposed in place, its rows contiguous (and scaled), and
        // its result written to its columns.
        multiply(
            batch: heads, m: keys, n: headWidth, k: queries,
            Matrix(tensor: matrix, batch: queries * keys, row: 1, column: keys),
            Matrix(
                tensor: splitHeads(rows, heads: heads, scales: headScale?.floats), batch: queries * headWidth,
                row: headWidth),
            into: result.floats, cBatch: headWidth, cRow: width, inPrecision: false)
        return result
    }

    public func softmaxGradientInPlace(_ gradient: Tensor, probabilities: Tensor) {
        precondition(gradient.count == probabilities.count, "softmax gradient shapes")
        let width = probabilities.shape.last!
        let rows = probabilities.count / width
        parallel(rows, cost: width) { range in
            for row in range {
                let g = gradient.floats + row * width
                let p = probabilities.floats + row * width
                let out = g
                var dot: Float = 0
                for i in 0..<width { dot += g[i] * p[i] }
                for i in 0..<width { out[i] = p[i] * (g[i] - dot) }
            }
        }
    }

    public func gradientWeightedMean(_ gradient: Tensor, probabilities: Tensor) -> Tensor {
        precondition(gradient.shape == probabilities.shape && gradient.rank == 3, "weighted mean shapes")
        let heads = gradient.shape[0]
        let plane = gradient.shape[1] * gradient.shape[2]
        let result = zeros(shape: Array(gradient.shape.dropFirst()))
        let out = result.floats
        let chunk = 16_384
        parallel((plane + chunk - 1) / chunk, cost: chunk * heads) { range in
            let elements = (range.lowerBound * chunk)..<min(plane, range.upperBound * chunk)
            for head in 0..<heads {
                let g = gradient.floats + head * plane
                let p = probabilities.floats + head * plane
                for i in elements { out[i] += max(g[i] * p[i], 0) }
            }
            let inverse = 1 / Float(heads)
            for i in elements { out[i] *= inverse }
        }
        return result
    }

    public func matrixProduct(_ a: Tensor, _ b: Tensor, transposingA: Bool) -> Tensor {
        let (m, n, k) = productSizes(a, b, transposingA: transposingA)
        let result = empty([m, n])
        gemm(
            transposingA: transposingA, transposingB: false, m: m, n: n, k: k, alpha: 1, a, a.shape[1],
            b, n, beta: 0, result.floats, n)
        return result
    }

    public func residualNormalized(_ relevance: Tensor) -> Tensor {
        let n = relevance.shape[0]
        precondition(relevance.shape == [n, n], "residual normalisation needs a square matrix")
        let result = empty([n, n])
        for row in 0..<n {
            let r = relevance.floats + row * n
            let out = result.floats + row * n
            var sum: Float = 0
            for j in 0..<n { sum += r[j] - (j == row ? 1 : 0) }
            for j in 0..<n { out[j] = (r[j] - (j == row ? 1 : 0)) / sum + (j == row ? 1 : 0) }
        }
        return result
    }

    public func zeroNaNInPlace(_ tensor: Tensor) {
        let x = tensor.floats
        for i in 0..<tensor.count where x[i].isNaN { x[i] = 0 }
    }
}

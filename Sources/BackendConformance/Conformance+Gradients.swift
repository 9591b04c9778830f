// The backward pass's operations for answer relevance: activation and LayerNorm input gradients, the softmax's,
// the attention probability gradient, the transposed input gradient in both of its orders (many query rows, and
// cross attention's few), the head mean of (∇A ⊙ A)⁺, and the residual normalisation of a relevance matrix.
import Foundation
import OFA

extension BackendConformance {
    func gradientChecks(_ context: inout ConformanceContext) {
        let backend = context.backend
        let shapes = context.shapes
        let tolerance = context.tolerance
        let (rows, width, heads) = (shapes.tokens, shapes.width, shapes.heads)
        let hw = width / heads
        let (gradient, g) = context.tensor([rows, width], seed: 400)
        let (pre, x) = context.tensor([rows, width], seed: 401, scale: 3)
        for activation in [Activation.relu, .gelu] {
            let result = backend.activationGradient(gradient, preActivation: pre, activation: activation)
            context.compareValues(
                "activationGradient, \(activation)", backend.read(result), columns: width,
                tolerance: tolerance.elementwise
            ) { i in
                (0..<width).map {
                    Double(g[i * width + $0]) * referenceActivationDerivative(Double(x[i * width + $0]), activation)
                }
            }
        }

        let (gain, w) = context.tensor([width], seed: 402)
        let normGradient = backend.layerNormGradient(gradient, input: pre, weight: gain, epsilon: 1e-5)
        context.compareValues(
            "layerNormGradient", backend.read(normGradient), columns: width, tolerance: tolerance.elementwise
        ) { i in
            let values = x[(i * width)..<((i + 1) * width)].map { Double($0) }
            let mean = values.reduce(0, +) / Double(width)
            let inverse =
                1 / (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width) + 1e-5).squareRoot()
            let normal = values.map { ($0 - mean) * inverse }
            let weighted = (0..<width).map { Double(g[i * width + $0]) * Double(w[$0]) }
            let meanWeighted = weighted.reduce(0, +) / Double(width)
            let meanProjected = zip(weighted, normal).map { $0 * $1 }.reduce(0, +) / Double(width)
            return (0..<width).map { inverse * (weighted[$0] - meanWeighted - normal[$0] * meanProjected) }
        }

        // Probabilities of a valid softmax and a gradient over them: [heads, queries, keys].
        for (name, queries) in [("self attention", rows), ("cross attention", shapes.decoderRows)] {
            let keys = rows
            let seed: UInt64 = queries == rows ? 410 : 430
            let p = ConformanceContext.probabilities(rows: heads * queries, keys: keys, seed: seed)
            let probabilities = backend.makeTensor(shape: [heads, queries, keys], values: p)
            let (scoreGradient, d) = context.tensor([heads, queries, keys], seed: seed + 1)
            let softened = backend.copy(scoreGradient)
            backend.softmaxGradientInPlace(softened, probabilities: probabilities)
            context.compare(
                "softmaxGradientInPlace, \(name)", backend.read(softened), columns: keys,
                tolerance: tolerance.elementwise
            ) { row in
                let start = row * keys
                let dot = (0..<keys).map { Double(d[start + $0]) * Double(p[start + $0]) }.reduce(0, +)
                let magnitude = (0..<keys).map { abs(Double(d[start + $0]) * Double(p[start + $0])) }.reduce(0, +)
                return (0..<keys).map {
                    let probability = Double(p[start + $0])
                    return (
                        probability * (Double(d[start + $0]) - dot),
                        probability * (abs(Double(d[start + $0])) + magnitude) + 1e-30
                    )
                }
            }

            let mean = backend.gradientWeightedMean(scoreGradient, probabilities: probabilities)
            context.compare(
                "gradientWeightedMean, \(name)", backend.read(mean), columns: keys, tolerance: tolerance.elementwise
            ) { row in
                (0..<keys).map { j in
                    let terms = (0..<heads).map {
                        Double(d[($0 * queries + row) * keys + j]) * Double(p[($0 * queries + row) * keys + j])
                    }
                    return (
                        terms.map { max($0, 0) }.reduce(0, +) / Double(heads),
                        terms.map(abs).reduce(0, +) / Double(heads) + 1e-30
                    )
                }
            }

            // ∂/∂probabilities of the context: headScale[h] · contextGradient[:, h] · value[:, h]ᵀ.
            let (contextGradient, c) = context.tensor([queries, width], seed: seed + 2)
            let (value, v) = context.tensor([keys, width], seed: seed + 3)
            let (headScale, s) = context.tensor([heads], seed: seed + 4)
            let probabilityGradient = backend.attentionProbabilityGradient(
                contextGradient: contextGradient, value: value, heads: heads, headScale: headScale)
            context.compare(
                "attentionProbabilityGradient, \(name)", backend.read(probabilityGradient), columns: keys,
                tolerance: tolerance.product
            ) { row in
                let (head, query) = (row / queries, row % queries)
                return (0..<keys).map {
                    let (sum, scale) = referenceDot(
                        c, query * width + head * hw, 1, v, $0 * width + head * hw, 1, count: hw)
                    return (Double(s[head]) * sum, abs(Double(s[head])) * scale)
                }
            }

            // [keys, in] = V · weight with V[:, h] = headScale[h] · matrix[h]ᵀ · rows[:, h]; with and without scales.
            let (weight, wt) = context.tensor([width, width], seed: seed + 5, scale: 0.1)
            let prepared = backend.prepareProductWeight(weight)
            for scaled in [true, false] {
                let result = backend.attentionTransposedInputGradient(
                    probabilities, rows: contextGradient, heads: heads, headScale: scaled ? headScale : nil,
                    weight: prepared)
                context.compare(
                    "attentionTransposedInputGradient, \(name)\(scaled ? "" : ", no scale")", backend.read(result),
                    columns: width, tolerance: tolerance.product
                ) { key in
                    var combined = [Double](repeating: 0, count: width)
                    var magnitude = [Double](repeating: 0, count: width)
                    for j in 0..<width {
                        let head = j / hw
                        let factor = scaled ? Double(s[head]) : 1
                        for query in 0..<queries {
                            let term =
                                factor * Double(p[(head * queries + query) * keys + key]) * Double(c[query * width + j])
                            combined[j] += term
                            magnitude[j] += abs(term)
                        }
                    }
                    return (0..<width).map { i in
                        var sum = 0.0
                        var scale = 0.0
                        for j in 0..<width {
                            sum += combined[j] * Double(wt[j * width + i])
                            scale += magnitude[j] * abs(Double(wt[j * width + i]))
                        }
                        return (sum, scale)
                    }
                }
            }
        }

        // R̄ = row-normalised (R − I) + I over a relevance matrix whose row 1 has R − I = 0 (NaN, as the reference).
        let n = shapes.decoderRows * 2
        var relevance = ConformanceContext.values(n * n, seed: 450).map { abs($0) }
        for i in 0..<n { relevance[i * n + i] += 1 }
        for j in 0..<n { relevance[1 * n + j] = j == 1 ? 1 : 0 }
        let normalizedRelevance = backend.residualNormalized(backend.makeTensor(shape: [n, n], values: relevance))
        context.compareValues(
            "residualNormalized", backend.read(normalizedRelevance), columns: n, tolerance: tolerance.elementwise
        ) { i in
            let residual = (0..<n).map { Double(relevance[i * n + $0]) - ($0 == i ? 1 : 0) }
            let sum = residual.reduce(0, +)
            return (0..<n).map { residual[$0] / sum + ($0 == i ? 1 : 0) }
        }
    }
}

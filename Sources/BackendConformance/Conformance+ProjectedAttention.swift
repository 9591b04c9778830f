// Attention to a memory through the key and value weights (cross attention's order for few query rows): the
// scores and the context against float64 references that make the keys and values first, with and without biases.
import OFA

extension BackendConformance {
    func projectedAttentionChecks(_ context: inout ConformanceContext) {
        let backend = context.backend
        let shapes = context.shapes
        let tolerance = context.tolerance.product
        let (heads, width, queries, keys) = (shapes.heads, shapes.width, shapes.decoderRows, shapes.tokens)
        let hw = width / heads
        let (query, q) = context.tensor([queries, width], seed: 200, scale: 0.125)
        let (memory, m) = context.tensor([keys, width], seed: 201)
        let (keyWeight, wk) = context.tensor([width, width], seed: 202, scale: 0.1)
        let (valueWeight, wv) = context.tensor([width, width], seed: 203, scale: 0.1)
        let (keyBias, bk) = context.tensor([width], seed: 204)
        let (valueBias, bv) = context.tensor([width], seed: 205)
        let (headScale, scales) = context.tensor([heads], seed: 206)
        let p = ConformanceContext.probabilities(rows: heads * queries, keys: keys, seed: 207)
        let probabilities = backend.makeTensor(shape: [heads, queries, keys], values: p)
        let preparedKey = backend.prepareProductWeight(keyWeight)
        let preparedValue = backend.prepareProductWeight(valueWeight)

        for biased in [true, false] {
            let label = biased ? "with biases" : "without biases"
            let scores = backend.attentionScores(
                query: query, memory: memory, keyWeight: preparedKey, keyBias: biased ? keyBias : nil, heads: heads)
            context.compare(
                "attentionScores, through the key weight \(label)", backend.read(scores), columns: keys,
                tolerance: tolerance
            ) { row in
                // Row (head, query): the query through its head's rows of the weight, then against each memory row.
                let (head, t) = (row / queries, row % queries)
                var through = [Double](repeating: 0, count: width)
                var magnitude = [Double](repeating: 0, count: width)
                var shift = 0.0
                var shiftMagnitude = 0.0
                for j in 0..<hw {
                    let qj = Double(q[t * width + head * hw + j])
                    let weightRow = (head * hw + j) * width
                    for i in 0..<width {
                        through[i] += qj * Double(wk[weightRow + i])
                        magnitude[i] += abs(qj * Double(wk[weightRow + i]))
                    }
                    if biased {
                        shift += qj * Double(bk[head * hw + j])
                        shiftMagnitude += abs(qj * Double(bk[head * hw + j]))
                    }
                }
                return (0..<keys).map { s in
                    var sum = shift
                    var scale = shiftMagnitude
                    for i in 0..<width {
                        sum += through[i] * Double(m[s * width + i])
                        scale += magnitude[i] * abs(Double(m[s * width + i]))
                    }
                    return (sum, scale)
                }
            }

            let attended = backend.attentionContext(
                probabilities: probabilities, memory: memory, valueWeight: preparedValue,
                valueBias: biased ? valueBias : nil, heads: heads, headScale: headScale)
            context.compare(
                "attentionContext, through the value weight \(label)", backend.read(attended), columns: width,
                tolerance: tolerance
            ) { t in
                (0..<heads).flatMap { head -> [(value: Double, scale: Double)] in
                    // The probabilities through the memory, then the head's rows of the weight.
                    let line = (head * queries + t) * keys
                    var mixed = [Double](repeating: 0, count: width)
                    var magnitude = [Double](repeating: 0, count: width)
                    var total = 0.0
                    for s in 0..<keys {
                        let ps = Double(p[line + s])
                        total += ps
                        for i in 0..<width {
                            mixed[i] += ps * Double(m[s * width + i])
                            magnitude[i] += abs(ps * Double(m[s * width + i]))
                        }
                    }
                    let factor = Double(scales[head])
                    return (0..<hw).map { c in
                        let weightRow = (head * hw + c) * width
                        var sum = biased ? Double(bv[head * hw + c]) * total : 0
                        var scale = abs(sum)
                        for i in 0..<width {
                            sum += mixed[i] * Double(wv[weightRow + i])
                            scale += magnitude[i] * abs(Double(wv[weightRow + i]))
                        }
                        return (factor * sum, abs(factor) * scale)
                    }
                }
            }
        }
    }
}

// Attention: the per-head score and context products, the biased (absolute + relative buckets), causal softmax with
// a fully masked row, and the fused attention, for self attention's square shape and cross attention's few rows.
import Foundation
import OFA

/// One attention shape and its inputs, host copies beside the tensors.
struct AttentionCase {
    let name: String
    let queries: Int
    let keys: Int
    let heads: Int
    let width: Int
    let causal: Bool
    let query: Tensor, q: [Float]
    let key: Tensor, k: [Float]
    let value: Tensor, v: [Float]
    let headScale: Tensor, scales: [Float]
    let bias: AttentionBias
    /// The whole bias in float64, [heads, queries, keys].
    let biasValues: [Double]

    var headWidth: Int { width / heads }

    init(_ name: String, queries: Int, keys: Int, causal: Bool, context: ConformanceContext, seed: UInt64) {
        let backend = context.backend
        let shapes = context.shapes
        (self.name, self.queries, self.keys, self.causal) = (name, queries, keys, causal)
        (heads, width) = (shapes.heads, shapes.width)
        // Queries scaled as OFA scales them (1/√64), so bf16's rounding of the scores moves the softmax little.
        (query, q) = context.tensor([queries, width], seed: seed, scale: 0.125)
        (key, k) = context.tensor([keys, width], seed: seed + 1)
        (value, v) = context.tensor([keys, width], seed: seed + 2)
        (headScale, scales) = context.tensor([heads], seed: seed + 3)
        let (absolute, a) = context.tensor([heads, queries, keys], seed: seed + 4)
        var total = a.map { Double($0) }
        // Two relative terms, as OFA adds the text and image buckets: one over a corner, one over the last rows
        // and columns; they overlap where both reach.
        var terms: [AttentionBias.Relative] = []
        let size = shapes.buckets
        for (index, (rows, columns, rowOffset, columnOffset)) in [
            (min(queries, 5), min(keys, 7), 0, 0),
            (queries - queries / 3, keys / 2, queries / 3, keys - keys / 2),
        ].enumerated() {
            let buckets = (0..<(rows * columns)).map { Int32(($0 / columns * 31 + $0 % columns * 17) % size) }
            let (table, t) = context.tensor([heads, size], seed: seed + 5 + UInt64(index))
            terms.append(
                AttentionBias.Relative(
                    table: table, buckets: backend.makeIndices(shape: [rows, columns], values: buckets),
                    rowOffset: rowOffset, columnOffset: columnOffset))
            for head in 0..<heads {
                for i in 0..<rows {
                    for j in 0..<columns {
                        total[(head * queries + rowOffset + i) * keys + columnOffset + j] += Double(
                            t[head * size + Int(buckets[i * columns + j])])
                    }
                }
            }
        }
        bias = AttentionBias(absolute: absolute, relative: terms)
        biasValues = total
    }

    /// Scores of (head, query) in float64 with their rounding scales.
    func scores(head: Int, query row: Int) -> [(value: Double, scale: Double)] {
        let hw = headWidth
        return (0..<keys).map { referenceDot(q, row * width + head * hw, 1, k, $0 * width + head * hw, 1, count: hw) }
    }

    /// The probabilities of (head, query) in float64: scores + bias, causal mask, softmax (NaN where all masked).
    func probabilities(head: Int, query row: Int, bias: [Double]? = nil) -> [Double] {
        let bias = bias ?? biasValues
        let logits = scores(head: head, query: row).enumerated().map { j, score in
            causal && j > row ? -Double.infinity : score.value + bias[(head * queries + row) * keys + j]
        }
        let peak = logits.max()!
        guard peak > -.infinity else { return [Double](repeating: .nan, count: keys) }
        let exponentials = logits.map { exp($0 - peak) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { $0 / sum }
    }
}

extension BackendConformance {
    func attentionChecks(_ context: inout ConformanceContext) {
        let backend = context.backend
        let shapes = context.shapes
        let tolerance = context.tolerance
        for attention in [
            AttentionCase(
                "self attention", queries: shapes.tokens, keys: shapes.tokens, causal: false, context: context,
                seed: 100),
            AttentionCase(
                "causal self attention", queries: shapes.decoderRows, keys: shapes.decoderRows, causal: true,
                context: context, seed: 120),
            AttentionCase(
                "cross attention", queries: shapes.decoderRows, keys: shapes.tokens, causal: false, context: context,
                seed: 140),
        ] {
            let (heads, queries, keys, width, hw) =
                (attention.heads, attention.queries, attention.keys, attention.width, attention.headWidth)
            let name = attention.name
            let scores = backend.attentionScores(query: attention.query, key: attention.key, heads: heads)
            context.compare(
                "attentionScores, \(name)", backend.read(scores), columns: keys, tolerance: tolerance.product
            ) {
                attention.scores(head: $0 / queries, query: $0 % queries)
            }

            // The softmax over the scores with one row masked throughout by its absolute bias.
            let masked = (head: 1 % heads, query: min(2, queries - 1))
            var absolute = backend.read(attention.bias.absolute)
            var maskedBias = attention.biasValues
            for j in 0..<keys {
                absolute[(masked.head * queries + masked.query) * keys + j] = -.infinity
                maskedBias[(masked.head * queries + masked.query) * keys + j] = -.infinity
            }
            let biased = AttentionBias(
                absolute: backend.makeTensor(shape: [heads, queries, keys], values: absolute),
                relative: attention.bias.relative)
            backend.attentionSoftmaxInPlace(scores, bias: biased, causal: attention.causal)
            let probabilities = backend.read(scores)
            context.compare(
                "attentionSoftmaxInPlace, \(name)", probabilities, columns: keys,
                tolerance: tolerance.product
            ) { row in
                attention.probabilities(head: row / queries, query: row % queries, bias: maskedBias)
                    .map { ($0, 1) }
            }

            // The context of probabilities of our own: a softmax of random scores (no NaN row).
            let p = ConformanceContext.probabilities(rows: heads * queries, keys: keys, seed: 160)
            let context32 = backend.attentionContext(
                probabilities: backend.makeTensor(shape: [heads, queries, keys], values: p), value: attention.value,
                heads: heads, headScale: attention.headScale)
            context.compare(
                "attentionContext, \(name)", backend.read(context32), columns: width, tolerance: tolerance.product
            ) { row in
                (0..<width).map { column in
                    let head = column / hw
                    let (sum, scale) = referenceDot(
                        p, (head * queries + row) * keys, 1, attention.v, column, width, count: keys)
                    let factor = Double(attention.scales[head])
                    return (factor * sum, abs(factor) * scale)
                }
            }

            let fused = backend.attention(
                query: attention.query, key: attention.key, value: attention.value, heads: heads,
                headScale: attention.headScale, bias: attention.bias, causal: attention.causal)
            context.compare("attention, \(name)", backend.read(fused), columns: width, tolerance: tolerance.product) {
                row in
                let perHead = (0..<heads).map { attention.probabilities(head: $0, query: row) }
                return (0..<width).map { column in
                    let head = column / hw
                    var sum = 0.0
                    var scale = 0.0
                    for j in 0..<keys {
                        let term = perHead[head][j] * Double(attention.v[j * width + column])
                        sum += term
                        scale += abs(term)
                    }
                    // The scores' rounding moves the probabilities too: their whole value's worth at most.
                    let factor = Double(attention.scales[head])
                    return (factor * sum, abs(factor) * max(scale, 1e-3))
                }
            }
        }
    }
}

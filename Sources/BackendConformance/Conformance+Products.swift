// Products: linear layers (every activation, with and without a bias, encoder and decoder row counts, the tied
// embedding as the output projection), plain matrix products either way round, and the input gradient of a linear.
import Foundation
import OFA

/// Σ a[aStart + k·aStep] · b[bStart + k·bStep] over `count` terms in float64, with Σ|terms| (its rounding scale).
func referenceDot(
    _ a: [Float], _ aStart: Int, _ aStep: Int, _ b: [Float], _ bStart: Int, _ bStep: Int, count: Int
) -> (value: Double, scale: Double) {
    var sum = 0.0
    var magnitude = 0.0
    for k in 0..<count {
        let term = Double(a[aStart + k * aStep]) * Double(b[bStart + k * bStep])
        sum += term
        magnitude += abs(term)
    }
    return (sum, magnitude)
}

/// The activation in float64 (GELU with the exact erf), and its derivative.
func referenceActivation(_ x: Double, _ activation: Activation) -> Double {
    switch activation {
    case .none: x
    case .relu: max(x, 0)
    case .gelu: 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
    }
}

func referenceActivationDerivative(_ x: Double, _ activation: Activation) -> Double {
    switch activation {
    case .none: 1
    case .relu: x > 0 ? 1 : 0
    case .gelu: 0.5 * (1 + erf(x / 2.0.squareRoot())) + x * exp(-x * x / 2) / (2 * Double.pi).squareRoot()
    }
}

extension BackendConformance {
    func productChecks(_ context: inout ConformanceContext) {
        let backend = context.backend
        let shapes = context.shapes
        let tolerance = context.tolerance.product
        // (rows, inputs, outputs, activation, bias): the attention projections, the FFN's two layers, decoder rows.
        let cases: [(String, Int, Int, Int, Activation, Bool)] = [
            ("linear", shapes.tokens, shapes.width, shapes.width, .none, true),
            ("linear, GELU", shapes.tokens, shapes.width, shapes.hidden, .gelu, true),
            ("linear, ReLU", shapes.tokens, shapes.hidden, shapes.width, .relu, true),
            ("linear, no bias", shapes.tokens, shapes.width, shapes.width, .none, false),
            ("linear, decoder rows", shapes.decoderRows, shapes.width, shapes.width, .none, true),
            ("linear, one row", 1, shapes.width, shapes.hidden, .gelu, true),
        ]
        for (index, (name, rows, inputs, outputs, activation, hasBias)) in cases.enumerated() {
            let seed = UInt64(10 + 3 * index)
            let (input, x) = context.tensor([rows, inputs], seed: seed)
            let (weight, w) = context.tensor([outputs, inputs], seed: seed + 1, scale: 0.1)
            let (bias, b) = context.tensor([outputs], seed: seed + 2)
            let result = backend.linear(
                input, weight: backend.prepareProductWeight(weight), bias: hasBias ? bias : nil, activation: activation)
            context.compare(name, backend.read(result), columns: outputs, tolerance: tolerance) { row in
                (0..<outputs).map { column in
                    let (sum, scale) = referenceDot(x, row * inputs, 1, w, column * inputs, 1, count: inputs)
                    let shift = hasBias ? Double(b[column]) : 0
                    return (referenceActivation(sum + shift, activation), scale + abs(shift))
                }
            }
        }

        // The tied output projection: decoder rows against the prepared embedding table.
        let (table, t) = context.tensor([shapes.vocabulary, shapes.width], seed: 30, scale: 0.1)
        let (hidden, h) = context.tensor([shapes.decoderRows, shapes.width], seed: 31)
        let logits = backend.linear(hidden, weight: backend.prepareTable(table), bias: nil, activation: .none)
        let width = shapes.width
        context.compare(
            "linear, tied table", backend.read(logits), columns: shapes.vocabulary,
            tolerance: max(tolerance, context.tolerance.storage)
        ) { row in
            (0..<shapes.vocabulary).map { referenceDot(h, row * width, 1, t, $0 * width, 1, count: width) }
        }

        // a · b and aᵀ · b (relevance's products).
        let (n, m, p) = (shapes.tokens, shapes.decoderRows * 2, shapes.tokens)
        let (a, aHost) = context.tensor([n, m], seed: 32)
        let (b, bHost) = context.tensor([m, p], seed: 33)
        context.compare(
            "matrixProduct", backend.read(backend.matrixProduct(a, b, transposingA: false)), columns: p,
            tolerance: tolerance
        ) { row in (0..<p).map { referenceDot(aHost, row * m, 1, bHost, $0, p, count: m) } }
        let (c, cHost) = context.tensor([n, p], seed: 34)
        context.compare(
            "matrixProduct, transposing a", backend.read(backend.matrixProduct(a, c, transposingA: true)), columns: p,
            tolerance: tolerance
        ) { row in (0..<p).map { referenceDot(aHost, row, m, cHost, $0, p, count: n) } }

        // gradient [n, out] · weight [out, in] through a prepared weight.
        let (gradient, g) = context.tensor([shapes.tokens, shapes.hidden], seed: 35)
        let (weight, w) = context.tensor([shapes.hidden, shapes.width], seed: 36, scale: 0.1)
        let inputGradient = backend.linearInputGradient(gradient, weight: backend.prepareProductWeight(weight))
        let (outputs, inputs) = (shapes.hidden, shapes.width)
        context.compare("linearInputGradient", backend.read(inputGradient), columns: inputs, tolerance: tolerance) {
            row in (0..<inputs).map { referenceDot(g, row * outputs, 1, w, $0, inputs, count: outputs) }
        }
    }
}

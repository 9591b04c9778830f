// Elementwise and row-wise steps: LayerNorm (rows far from zero mean, so a one-pass variance would show), also in
// place, add, also in place, add-row with a scale, scale in place, the activations, and NaN clearing.
import Foundation
import OFA

extension BackendConformance {
    func elementwiseChecks(_ context: inout ConformanceContext) {
        let backend = context.backend
        let shapes = context.shapes
        let tolerance = context.tolerance.elementwise
        let (rows, width) = (shapes.tokens, shapes.width)
        let (input, x) = context.tensor([rows, width], seed: 300, scale: 4)
        let offset = backend.addRow(
            input, row: backend.makeTensor(shape: [width], values: [Float](repeating: 3, count: width)), scale: 1)
        let shifted = x.map { $0 + 3 }
        let (gain, g) = context.tensor([width], seed: 301)
        let (shift, s) = context.tensor([width], seed: 302)
        let normalized = backend.layerNorm(offset, weight: gain, bias: shift, epsilon: 1e-5)
        context.compareValues("layerNorm", backend.read(normalized), columns: width, tolerance: tolerance) { row in
            let values = shifted[(row * width)..<((row + 1) * width)].map { Double($0) }
            let mean = values.reduce(0, +) / Double(width)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
            let inverse = 1 / (variance + 1e-5).squareRoot()
            return values.enumerated().map { ($1 - mean) * inverse * Double(g[$0]) + Double(s[$0]) }
        }

        let inPlace = backend.copy(offset)
        backend.layerNormInPlace(inPlace, weight: gain, bias: shift, epsilon: 1e-5)
        let normalizedValues = backend.read(normalized)
        // The same kernel over the same rows: the same values exactly.
        context.compareValues("layerNormInPlace", backend.read(inPlace), columns: width, tolerance: 0) { row in
            (0..<width).map { Double(normalizedValues[row * width + $0]) }
        }

        let (other, y) = context.tensor([rows, width], seed: 303)
        let sum = backend.add(input, other)
        context.compareValues("add", backend.read(sum), columns: width, tolerance: tolerance) { row in
            (0..<width).map { Double(x[row * width + $0]) + Double(y[row * width + $0]) }
        }
        let accumulated = backend.copy(input)
        backend.addInPlace(accumulated, other)
        let sums = backend.read(sum)
        context.compareValues("addInPlace", backend.read(accumulated), columns: width, tolerance: 0) { row in
            (0..<width).map { Double(sums[row * width + $0]) }
        }
        let (row, r) = context.tensor([width], seed: 304)
        context.compareValues(
            "addRow", backend.read(backend.addRow(input, row: row, scale: 0.125)), columns: width, tolerance: tolerance
        ) { i in (0..<width).map { Double(x[i * width + $0]) * 0.125 + Double(r[$0]) } }
        let scaled = backend.copy(input)
        backend.scaleInPlace(scaled, by: -1.5)
        context.compareValues("scaleInPlace", backend.read(scaled), columns: width, tolerance: tolerance) { i in
            (0..<width).map { Double(x[i * width + $0]) * -1.5 }
        }
        for activation in [Activation.relu, .gelu] {
            context.compareValues(
                "activate, \(activation)", backend.read(backend.activate(input, activation)), columns: width,
                tolerance: tolerance
            ) { i in (0..<width).map { referenceActivation(Double(x[i * width + $0]), activation) } }
        }

        // Every seventh value NaN.
        let withNaN = x.enumerated().map { $0.offset % 7 == 3 ? Float.nan : $0.element }
        let cleared = backend.makeTensor(shape: [rows, width], values: withNaN)
        backend.zeroNaNInPlace(cleared)
        context.compareValues("zeroNaNInPlace", backend.read(cleared), columns: width, tolerance: 0) { i in
            (0..<width).map { withNaN[i * width + $0].isNaN ? 0 : Double(withNaN[i * width + $0]) }
        }
    }
}

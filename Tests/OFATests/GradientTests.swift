// The backward pass's products give their definitions whichever order the backend picks: the input gradient through
// an attention's keys or values equals Σ_h headScale[h] · matrix[h]ᵀ · rows[:, h] · weight[h's rows], computed in
// float64, for few queries (cross attention's order: through the weight first) and many (the values' gradient first),
// in every precision this CPU offers.
import XCTest

@testable import OFA

final class GradientTests: XCTestCase {
    func testTheInputGradientThroughKeysOrValuesMatchesItsDefinitionInEitherOrder() throws {
        let (heads, width, keys, inputs) = (4, 64, 50, 24)
        let headWidth = width / heads
        for precision in CPUBackend.offeredPrecisions {
            let backend = try CPUBackend(threads: 2, precision: precision)
            // bfloat16 products round each operand to 8 significant bits, and the sums here cancel.
            let tolerance: Double = precision == .float32 ? 1e-5 : 4e-2
            let weightValues = (0..<(width * inputs)).map { Float(sin(Double($0) * 0.31)) }
            let weight = backend.prepareProductWeight(backend.makeTensor(shape: [width, inputs], values: weightValues))
            // 3 queries: 4 · 3 < 64, through the weight first; 40 queries: 160 ≥ 64, the values' gradient first.
            for queries in [3, 40] {
                let matrix = (0..<(heads * queries * keys)).map { Float(cos(Double($0) * 0.17)) }
                let rows = (0..<(queries * width)).map { Float(sin(Double($0) * 0.23)) }
                for scales in [nil, [1, 0.5, 2, -1] as [Float]] {
                    let actual = backend.read(
                        backend.attentionTransposedInputGradient(
                            backend.makeTensor(shape: [heads, queries, keys], values: matrix),
                            rows: backend.makeTensor(shape: [queries, width], values: rows), heads: heads,
                            headScale: scales.map { backend.makeTensor(shape: [heads], values: $0) },
                            weight: weight))
                    XCTAssertEqual(actual.count, keys * inputs)
                    var worst: Double = 0
                    var largest: Double = 0
                    for key in 0..<keys {
                        for input in 0..<inputs {
                            var sum: Double = 0
                            for head in 0..<heads {
                                let scale = Double(scales?[head] ?? 1)
                                for query in 0..<queries {
                                    var through: Double = 0
                                    for j in (head * headWidth)..<((head + 1) * headWidth) {
                                        through +=
                                            Double(rows[query * width + j]) * Double(weightValues[j * inputs + input])
                                    }
                                    sum += scale * Double(matrix[(head * queries + query) * keys + key]) * through
                                }
                            }
                            worst = max(worst, abs(Double(actual[key * inputs + input]) - sum))
                            largest = max(largest, abs(sum))
                        }
                    }
                    XCTAssertLessThanOrEqual(
                        worst / largest, tolerance, "\(precision) \(queries) queries, scales \(scales != nil)")
                }
            }
        }
    }
}

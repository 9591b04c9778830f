import CKernels
// Numerical kernels and position buckets behave as the reference defines them.
import Foundation
import XCTest

@testable import OFA

final class KernelTests: XCTestCase {
    func testFastExpIsWithinTwoUlpsAndZeroFarBelow() {
        var x: Float = -80
        while x < 80 {
            let expected = Float(Foundation.exp(Double(x)))
            XCTAssertLessThanOrEqual(abs(FastMath.exp(x) - expected), 2.5 * expected.ulp, "exp(\(x))")
            x += 0.0137
        }
        XCTAssertEqual(FastMath.exp(-.infinity), 0)
        XCTAssertEqual(FastMath.exp(-1000), 0)
        XCTAssertEqual(FastMath.exp(0), 1)
    }

    /// Every instruction set the C kernels have that this CPU runs, each used in turn (the best one again after).
    private func onEachInstructionSet(_ body: (String) throws -> Void) rethrows {
        let best = String(cString: ofa_kernels_instruction_set())
        defer { XCTAssertEqual(ofa_kernels_use(best), 1) }
        for name in ["sse2", "avx2", "avx512"] where ofa_kernels_use(name) == 1 {
            XCTAssertEqual(String(cString: ofa_kernels_instruction_set()), name)
            try body(name)
        }
        XCTAssertEqual(ofa_kernels_use("avx1024"), 0)
    }

    /// Scores, an absolute bias and two bucket terms (tables `[heads, 7]`) over [heads, queries, keys], as an encoder
    /// lays them out.
    private func biasedScores(_ backend: CPUBackend, heads: Int, queries: Int, keys: Int)
        -> (scores: [Float], bias: AttentionBias, expected: (Bool) -> [Double])
    {
        let count = heads * queries * keys
        let scores = (0..<count).map { Float(sin(Double($0) * 0.37)) * 9 }
        let absolute = (0..<count).map { Float(cos(Double($0) * 0.11)) }
        let split = queries / 2
        let tables = (0..<2).map { t in (0..<(7 * heads)).map { Float($0 % 5) * 0.3 - Float(t) } }
        let buckets = [
            (rows: split, columns: min(split, keys), row: 0, column: 0),
            (rows: queries - split, columns: keys - min(split, keys), row: split, column: min(split, keys)),
        ]
        let indices = buckets.map { block in (0..<(block.rows * block.columns)).map { Int32(($0 * 3) % 7) } }
        let bias = AttentionBias(
            absolute: backend.makeTensor(shape: [heads, queries, keys], values: absolute),
            relative: (0..<2).map { t in
                .init(
                    table: backend.makeTensor(shape: [heads, 7], values: tables[t]),
                    buckets: backend.makeIndices(shape: [buckets[t].rows, buckets[t].columns], values: indices[t]),
                    rowOffset: buckets[t].row, columnOffset: buckets[t].column)
            })
        func expected(causal: Bool) -> [Double] {
            var result = [Double](repeating: 0, count: count)
            for h in 0..<heads {
                for i in 0..<queries {
                    var row = (0..<keys).map { j in
                        Double(scores[(h * queries + i) * keys + j] + absolute[(h * queries + i) * keys + j])
                    }
                    for t in 0..<2 where i >= buckets[t].row && i < buckets[t].row + buckets[t].rows {
                        for j in 0..<buckets[t].columns {
                            let bucket = Int(indices[t][(i - buckets[t].row) * buckets[t].columns + j])
                            row[buckets[t].column + j] += Double(tables[t][h * 7 + bucket])
                        }
                    }
                    if causal { for j in (i + 1)..<max(i + 1, keys) { row[j] = -.infinity } }
                    let peak = row.max()!
                    let exponentials = row.map { Foundation.exp($0 - peak) }
                    let sum = exponentials.reduce(0, +)
                    for j in 0..<keys { result[(h * queries + i) * keys + j] = exponentials[j] / sum }
                }
            }
            return result
        }
        return (scores, bias, expected)
    }

    func testTheAttentionSoftmaxAddsEveryBiasMasksTheFutureAndNormalisesEachRowOnEveryInstructionSet() {
        let backend = CPUBackend(threads: 2)
        for (queries, keys) in [(1, 1), (7, 7), (16, 37), (40, 914)] {
            let (values, bias, expected) = biasedScores(backend, heads: 3, queries: queries, keys: keys)
            for causal in [false, true] where !causal || queries == keys {
                let reference = expected(causal)
                onEachInstructionSet { name in
                    let scores = backend.makeTensor(shape: [3, queries, keys], values: values)
                    backend.attentionSoftmaxInPlace(scores, bias: bias, causal: causal)
                    let result = backend.read(scores)
                    let worst = zip(result, reference).map { abs(Double($0) - $1) }.max()!
                    XCTAssertLessThan(worst, 1e-6, "\(name) \(queries)×\(keys) causal \(causal)")
                    if causal && keys > 1 { XCTAssertEqual(result[1], 0, "\(name): a future key") }
                }
            }
        }
    }

    func testASoftmaxRowOfMinusInfinityThroughoutIsNaNAsInPyTorch() {
        let backend = CPUBackend(threads: 1)
        onEachInstructionSet { name in
            let scores = backend.makeTensor(shape: [1, 1, 20], values: Array(repeating: -.infinity, count: 20))
            let bias = AttentionBias(absolute: backend.zeros(shape: [1, 1, 20]))
            backend.attentionSoftmaxInPlace(scores, bias: bias, causal: false)
            XCTAssertTrue(backend.read(scores).allSatisfy(\.isNaN), name)
        }
    }

    func testLayerNormMatchesItsDefinitionOnEveryInstructionSet() {
        let backend = CPUBackend(threads: 2)
        for width in [1, 15, 16, 37, 1024] {
            let rows = 70
            let input = (0..<(rows * width)).map { Float(sin(Double($0) * 0.7)) * 3 + 1 }
            let gain = (0..<width).map { 1 + Float($0) * 0.01 }
            let shift = (0..<width).map { Float($0) * -0.02 }
            var expected: [Double] = []
            for r in 0..<rows {
                let row = input[(r * width)..<((r + 1) * width)].map(Double.init)
                let mean = row.reduce(0, +) / Double(width)
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
                for j in 0..<width {
                    expected.append(
                        (row[j] - mean) / (variance + 1e-5).squareRoot() * Double(gain[j]) + Double(shift[j]))
                }
            }
            onEachInstructionSet { name in
                let output = backend.layerNorm(
                    backend.makeTensor(shape: [rows, width], values: input),
                    weight: backend.makeTensor(shape: [width], values: gain),
                    bias: backend.makeTensor(shape: [width], values: shift), epsilon: 1e-5)
                let worst = zip(backend.read(output), expected).map { abs(Double($0) - $1) / max(1, abs($1)) }.max()!
                XCTAssertLessThan(worst, 1e-5, "\(name) width \(width)")
            }
        }
    }

    func testAttentionInBlocksOfQueriesEqualsTheProbabilitiesKeptWhole() {
        let backend = CPUBackend(threads: 2)
        let heads = 4
        let width = 32
        for (queries, keys, causal) in [(300, 300, true), (300, 300, false), (5, 300, false), (129, 40, false)] {
            let (_, bias, _) = biasedScores(backend, heads: heads, queries: queries, keys: keys)
            let query = backend.makeTensor(
                shape: [queries, width], values: (0..<(queries * width)).map { Float(sin(Double($0) * 0.13)) })
            let key = backend.makeTensor(
                shape: [keys, width], values: (0..<(keys * width)).map { Float(cos(Double($0) * 0.29)) })
            let value = backend.makeTensor(
                shape: [keys, width], values: (0..<(keys * width)).map { Float(sin(Double($0) * 0.07)) })
            let headScale = backend.makeTensor(shape: [heads], values: [1, 0.5, 2, -1])
            let scores = backend.attentionScores(query: query, key: key, heads: heads)
            backend.attentionSoftmaxInPlace(scores, bias: bias, causal: causal)
            let whole = backend.read(
                backend.attentionContext(probabilities: scores, value: value, heads: heads, headScale: headScale))
            let blocks = backend.read(
                backend.attention(
                    query: query, key: key, value: value, heads: heads, headScale: headScale, bias: bias,
                    causal: causal))
            let worst = zip(whole, blocks).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-5, "\(queries)×\(keys) causal \(causal)")
        }
    }

    func testGeluMatchesTheExactErfFormula() {
        var x: Float = -8
        while x < 8 {
            let expected = Float(0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot())))
            XCTAssertLessThanOrEqual(abs(FastMath.gelu(x) - expected), 2e-6 * max(1, abs(x)), "gelu(\(x))")
            x += 0.00731
        }
    }

    func testTokenBucketsMatchTheSpecExamples() {
        let length = 1024
        let buckets = PositionBuckets.token(length: length, bucketSize: 256, maximumPosition: 1024)
        func bucket(_ relative: Int) -> Int { Int(buckets[relative * length]) - 255 }  // query `relative`, key 0
        XCTAssertEqual(bucket(0), 0)
        XCTAssertEqual(bucket(128), 128)
        XCTAssertEqual(bucket(129), 129)
        XCTAssertEqual(bucket(130), 129)
        XCTAssertEqual(bucket(131), 130)
        XCTAssertEqual(bucket(139), 134)
        XCTAssertEqual(bucket(141), 134)
        XCTAssertEqual(bucket(1007), 255)
        XCTAssertEqual(Int(buckets[130]) - 255, -129)  // query 0, key 130
    }

    func testImageBucketsMatchTheSpecExamples() {
        // Ids r·42 + c + 1 on a 30×30 grid; spec §3.4 values are for ids (1,1), (1,2), (2,1), (43,1), (134,423).
        let columns = 30
        let buckets = PositionBuckets.image(rows: 30, columns: columns, bucketSize: 42)
        func index(_ p: Int, _ q: Int) -> Int {
            func patch(_ id: Int) -> Int {
                let (r, c) = (id - 1).quotientAndRemainder(dividingBy: 42)
                return r * columns + c
            }
            return Int(buckets[patch(p) * 900 + patch(q)])
        }
        XCTAssertEqual(index(1, 1), 3444)
        XCTAssertEqual(index(1, 2), 3443)
        XCTAssertEqual(index(2, 1), 3445)
        XCTAssertEqual(index(43, 1), 3527)
        XCTAssertEqual(index(134, 423), 2868)
    }

    func testResNetGridSizeFollowsTheStrides() {
        XCTAssertEqual(ResNet.gridSize(imageSize: 480), 30)
        XCTAssertEqual(ResNet.gridSize(imageSize: 64), 4)
        XCTAssertEqual(ResNet.gridSize(imageSize: 96), 6)
    }
}

// Cross attention from few decoder rows goes through the key and value weights instead of keys and values made from
// the encoder's rows: on a fixture model's weights it gives the same probabilities and output as the keys and values
// do, and long prompts, for which it would cost more, still take the keys and values.
import FixtureSupport
import XCTest

@testable import OFA

final class CrossAttentionTests: XCTestCase {
    func testFewDecoderRowsAttendThroughTheWeightsAsThroughTheKeysAndValues() throws {
        let backend = CPUBackend(threads: 2)
        let model = try OFAModel(directory: try ModelFixtures.directory("tiny-b"), backend: backend)
        let width = model.configuration.modelDimension
        let heads = model.configuration.decoderAttentionHeads
        var generator = SeededGenerator(seed: 11)
        func random(_ shape: [Int]) -> Tensor {
            backend.makeTensor(
                shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &generator) })
        }
        let (rows, keys) = (2, 23)
        XCTAssertTrue(MultiheadAttention.projectsQueries(rows, heads: heads, width: width))
        for layer in model.decoder.layers {
            let attention = layer.crossAttention
            let input = random([rows, width])
            let memory = random([keys, width])
            let bias = AttentionBias(absolute: random([heads, rows, keys]))
            var projected: [Float] = []
            var made: [Float] = []
            let through = backend.read(
                attention(input, memory: memory, bias: bias, record: { projected = backend.read($0) }))
            let direct = backend.read(
                attention(
                    input, keysAndValues: attention.keysAndValues(memory), bias: bias, causal: false,
                    record: { made = backend.read($0) }))
            XCTAssertEqual(projected.count, heads * rows * keys)
            XCTAssertLessThan(zip(projected, made).map { abs($0 - $1) }.max()!, 1e-6, "probabilities")
            XCTAssertLessThan(zip(through, direct).map { abs($0 - $1) }.max()!, 1e-5, "output")
        }
    }

    func testRowsPastAnEighthOfTheWidthPerHeadTakeTheKeysAndValues() {
        // OFA-large: d 1024 in 16 heads; its 13-row prompts go through the weights, 33 rows and more do not.
        XCTAssertTrue(MultiheadAttention.projectsQueries(13, heads: 16, width: 1024))
        XCTAssertTrue(MultiheadAttention.projectsQueries(32, heads: 16, width: 1024))
        XCTAssertFalse(MultiheadAttention.projectsQueries(33, heads: 16, width: 1024))
    }
}

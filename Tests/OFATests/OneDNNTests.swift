// The CPU backend's oneDNN primitives: a forward pass never lands on oneDNN's reference (scalar) code, which is how a
// malformed memory description shows itself (a batch stride of 0 once made each product 8 s); a convolution weight
// packed for one input size is repacked for another and agrees; a bfloat16 linear weight packed once serves every row count
// and unpacks for the gradients; a bfloat16 convolution asked for float32 inputs rounds neither them nor its weights; the operation
// counter counts 2 per multiply-add.
import XCTest

@testable import OFA

final class OneDNNTests: XCTestCase {
    func forward(_ backend: CPUBackend) throws -> Classification {
        let model = try OFAModel(directory: try Fixtures.model("tiny-b"), backend: backend)
        let goldens = try Fixtures.goldens("tiny-b")
        let shape = try goldens.shape("hypothesis.patch_image")
        let image = model.imageFeatures(
            pixels: try goldens.floats("hypothesis.patch_image"), height: shape[1], width: shape[2])
        return try model.classify(
            image: image, sourceTokens: try goldens.integers("hypothesis.source_ids"),
            decoderTokens: try goldens.integers("hypothesis.decoder_ids"), answerTokens: model.answerTokens)
    }

    func testNoPrimitiveOfAForwardPassRunsOneDNNsReferenceCode() throws {
        for precision in CPUBackend.offeredPrecisions {
            let backend = try CPUBackend(threads: 2, precision: precision)
            _ = try forward(backend)
            let made = backend.primitiveImplementations
            XCTAssertFalse(made.isEmpty)
            XCTAssertEqual(made.filter { $0.hasPrefix("ref") }, [], "\(precision)")
        }
    }

    func testABFloat16LinearWeightPackedOnceGivesThePlainWeightsProductsForEveryRowCountAndItsGradient() throws {
        guard CPUBackend.offeredPrecisions.contains(.bfloat16) else {
            throw XCTSkip("this CPU has no bfloat16 products, and float32 weights are not packed")
        }
        let backend = try CPUBackend(threads: 2, precision: .bfloat16)
        let (outputs, inputs) = (70, 48)
        let values = (0..<(outputs * inputs)).map { Float(sin(Double($0) * 0.3)) }
        let weight = backend.makeTensor(shape: [outputs, inputs], values: values)
        let plain = backend.prepareTable(weight)
        let packed = backend.prepareProductWeight(weight)
        XCTAssertNil(plain.layout)
        XCTAssertTrue(packed.layout is OneDNN.PackedWeight)
        let bias = backend.makeTensor(shape: [outputs], values: (0..<outputs).map { Float($0) * 0.01 })
        for rows in [1, 13, 129] {
            let input = backend.makeTensor(
                shape: [rows, inputs], values: (0..<(rows * inputs)).map { Float(cos(Double($0) * 0.7)) })
            for activation in [Activation.none, .relu, .gelu] {
                let expected = backend.read(backend.linear(input, weight: plain, bias: bias, activation: activation))
                let actual = backend.read(backend.linear(input, weight: packed, bias: bias, activation: activation))
                XCTAssertEqual(zip(expected, actual).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-4, "\(rows) rows")
            }
            let gradient = backend.makeTensor(
                shape: [rows, outputs], values: (0..<(rows * outputs)).map { Float(sin(Double($0) * 1.1)) })
            let expected = backend.read(backend.linearInputGradient(gradient, weight: plain))
            let actual = backend.read(backend.linearInputGradient(gradient, weight: packed))
            XCTAssertEqual(zip(expected, actual).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-4, "gradient, \(rows)")
        }
    }

    func testFloat32LinearWeightsAreUsedAsTheyAre() {
        let backend = CPUBackend(threads: 1)
        let weight = backend.makeTensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        XCTAssertTrue(backend.prepareProductWeight(weight) === weight)
    }

    func testProductOperationsCountTwoPerMultiplyAdd() throws {
        let backend = CPUBackend(threads: 1)
        let before = backend.productOperations
        let a = backend.makeTensor(shape: [3, 4], values: (0..<12).map(Float.init))
        let weight = backend.makeTensor(shape: [5, 4], values: (0..<20).map { Float($0) / 10 })
        let output = backend.linear(a, weight: weight, bias: nil, activation: .none)
        XCTAssertEqual(backend.productOperations - before, 2 * 3 * 5 * 4)
        // Row 1 · weight row 2: (4, 5, 6, 7) · (0.8, 0.9, 1.0, 1.1) = 21.4.
        XCTAssertEqual(backend.read(output)[1 * 5 + 2], 21.4, accuracy: 1e-5)
    }

    func testAConvolutionOnAnotherSizeThanItsWeightWasPackedForRepacksAndAgrees() throws {
        // The stem's shape: oneDNN lays its weights out differently for a 480-pixel and a 17-pixel input, so the
        // weight packed for 480 is repacked per call at 17 and must give what the one packed for 17 gives.
        let backend = CPUBackend(threads: 2)
        let geometry = ConvolutionGeometry(kernel: 7, stride: 2, padding: 3)
        var generator = SystemRandomNumberGenerator()
        let plain = backend.makeTensor(
            shape: [64, 3 * 49], values: (0..<(64 * 147)).map { _ in Float.random(in: -1...1, using: &generator) })
        let bias = backend.makeTensor(shape: [64], values: (0..<64).map { Float($0) / 64 })
        let input = backend.makeTensor(
            shape: [17, 17, 3], values: (0..<(17 * 17 * 3)).map { _ in Float.random(in: -1...1, using: &generator) })
        let forLarge = backend.prepareConvolutionWeight(plain, inputs: 3, geometry: geometry, inputSide: 480)
        let forSmall = backend.prepareConvolutionWeight(plain, inputs: 3, geometry: geometry, inputSide: 17)
        let repacked = backend.convolution(
            input, weight: forLarge, bias: bias, geometry: geometry, residual: nil, activation: .relu)
        let direct = backend.convolution(
            input, weight: forSmall, bias: bias, geometry: geometry, residual: nil, activation: .relu)
        XCTAssertEqual(repacked.shape, [9, 9, 64])
        XCTAssertEqual(maximumDifference(backend.read(repacked), backend.read(direct)), 0, accuracy: 1e-5)
        // And both are the convolution: output pixel (0, 0), channel 5, by hand (padding 3: input rows/columns 0…3).
        let weights = backend.read(plain)
        let pixels = backend.read(input)
        var sum = backend.read(bias)[5]
        for c in 0..<3 {
            for ky in 3..<7 {
                for kx in 3..<7 {
                    sum += weights[5 * 147 + c * 49 + ky * 7 + kx] * pixels[((ky - 3) * 17 + kx - 3) * 3 + c]
                }
            }
        }
        XCTAssertEqual(backend.read(direct)[5], max(sum, 0), accuracy: 1e-4)
    }
    func testABFloat16ConvolutionAskedForFloat32InputsRoundsNeitherThemNorItsWeights() throws {
        guard CPUBackend.offeredPrecisions.contains(.bfloat16) else { throw XCTSkip("this CPU has no bfloat16") }
        let bfloat16 = try CPUBackend(threads: 2, precision: .bfloat16)
        let float32 = CPUBackend(threads: 2)
        let geometry = ConvolutionGeometry(kernel: 3, stride: 1, padding: 1)
        // Weights and inputs bfloat16 does not hold exactly: the weights come back as their bfloat16 part plus its
        // rounding residual.
        let weights: [Float] = (0..<(32 * 16 * 9)).map { index in Float(sin(0.71 * Double(index))) / 2 + 0.001 }
        let pixels: [Float] = (0..<(12 * 12 * 16)).map { index in 3 * Float(sin(0.37 * Double(index))) + 0.001 }
        let biases: [Float] = (0..<32).map { index in Float(index) / 32 }
        func convolve(_ backend: CPUBackend) -> [Float] {
            let weight = backend.prepareConvolutionWeight(
                backend.makeTensor(shape: [32, 16 * 9], values: weights), inputs: 16, geometry: geometry,
                inputSide: 12)
            let output = backend.convolution(
                backend.makeTensor(shape: [12, 12, 16], values: pixels), weight: weight,
                bias: backend.makeTensor(shape: [32], values: biases), geometry: geometry, residual: nil,
                activation: .none)
            return backend.read(output)
        }
        let exact = convolve(float32)
        let rounded = convolve(bfloat16)
        let widened = bfloat16.withFloat32ConvolutionInputs { convolve(bfloat16) }
        XCTAssertEqual(maximumDifference(widened, exact), 0, accuracy: 2e-4)
        XCTAssertGreaterThan(maximumDifference(rounded, exact), 5e-3, "bfloat16 rounds inputs and weights outside it")
        print("vs float32: bfloat16 \(maximumDifference(rounded, exact)), widened \(maximumDifference(widened, exact))")
        XCTAssertEqual(maximumDifference(convolve(bfloat16), rounded), 0, "and only inside it")
    }
}

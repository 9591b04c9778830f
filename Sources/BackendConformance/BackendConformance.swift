// One conformance suite for every Backend: each operation against a float64 reference computed on the host, at
// small sizes and at OFA-large's shapes, on whichever backend it is given (CPUBackend in `swift test`, the CUDA
// backend in the device check). A result is the worst scaled error over the elements compared: all of them at small
// sizes, whole sampled rows at large ones.
import Foundation
import OFA

/// One operation's comparison.
public struct ConformanceResult: Sendable, Codable, Equatable {
    public let operation: String
    public let size: ConformanceSize
    /// Elements compared.
    public let checked: Int
    /// The worst |got − expected| / scale (∞ where a NaN or infinity appears that should not, or is missing).
    public let error: Double
    public let tolerance: Double
    public var passed: Bool { error <= tolerance }
}

public enum ConformanceSize: String, CaseIterable, Sendable, Codable {
    /// A few dozen rows and widths of a few dozen: every element compared.
    case small
    /// OFA-large's widths, heads, sequence and image sizes: sampled rows compared.
    case large
}

/// The sizes an operation is checked at.
struct ConformanceShapes {
    /// Encoder rows (image patches + text tokens) and decoder rows.
    let tokens: Int
    let decoderRows: Int
    let width: Int
    let heads: Int
    /// The feed-forward's inner width.
    let hidden: Int
    /// Relative position buckets per head.
    let buckets: Int
    let vocabulary: Int
    /// The ResNet stem's input side (3 channels), and a bottleneck's 3×3 input: side and channels.
    let imageSide: Int
    let blockSide: Int
    let blockChannels: Int

    static let small = ConformanceShapes(
        tokens: 23, decoderRows: 5, width: 48, heads: 6, hidden: 96, buckets: 9, vocabulary: 300, imageSide: 19,
        blockSide: 11, blockChannels: 16)
    /// OFA-large at 480 px: 30 × 30 patches + 14 text tokens, 13 decoder rows, d 1024 in 16 heads, FFN 4096.
    static let large = ConformanceShapes(
        tokens: 914, decoderRows: 13, width: 1024, heads: 16, hidden: 4096, buckets: 256, vocabulary: 59457,
        imageSide: 480, blockSide: 30, blockChannels: 256)
}

public struct BackendConformance {
    public let backend: Backend

    public init(backend: Backend) { self.backend = backend }

    /// Every check at `size`, in a fixed order.
    public func run(_ size: ConformanceSize) -> [ConformanceResult] {
        let shapes = size == .small ? ConformanceShapes.small : ConformanceShapes.large
        var context = ConformanceContext(backend: backend, size: size, shapes: shapes)
        memoryChecks(&context)
        productChecks(&context)
        attentionChecks(&context)
        projectedAttentionChecks(&context)
        convolutionChecks(&context)
        elementwiseChecks(&context)
        gradientChecks(&context)
        return context.results
    }

    /// Tolerances, scaled errors: a product's error is taken against Σ|terms| of its element (its rounding bound),
    /// an elementwise result's against max(|expected|, 1), data movement exactly.
    struct Tolerance {
        let product: Double
        let elementwise: Double
        /// A table or weight read back as stored (bf16 storage rounds it).
        let storage: Double
        /// A convolution inside `withFloat32ConvolutionInputs` (bf16: its weights within 2⁻¹⁷, from their bfloat16
        /// part and rounding residual).
        let float32Convolution: Double

        init(_ precision: Precision) {
            switch precision {
            case .float32: (product, elementwise, storage, float32Convolution) = (1e-5, 1e-5, 0, 1e-5)
            case .tensorFloat32: (product, elementwise, storage, float32Convolution) = (2e-3, 1e-5, 0, 2e-3)
            case .bfloat16: (product, elementwise, storage, float32Convolution) = (1.6e-2, 1e-5, 4e-3, 2e-5)
            }
        }
    }
}

/// What the checks share: the backend, the sizes, the results so far.
struct ConformanceContext {
    let backend: Backend
    let size: ConformanceSize
    let shapes: ConformanceShapes
    var results: [ConformanceResult] = []
    var tolerance: BackendConformance.Tolerance { BackendConformance.Tolerance(backend.precision) }

    /// Elements compared per check at most (whole rows, at least two of them).
    static let sampledElements = 8192

    /// The rows compared of an output of `rows` rows of `columns`: all, or the first, the last and evenly spread
    /// ones between.
    static func sampledRows(_ rows: Int, columns: Int) -> [Int] {
        let wanted = max(2, sampledElements / max(1, columns))
        guard rows > wanted else { return Array(0..<rows) }
        return (0..<wanted).map { $0 * (rows - 1) / (wanted - 1) }
    }

    /// Compares `got`, viewed as `[rows, columns]`, with `expected(row)`: (value, scale) for each column of a row.
    mutating func compare(
        _ operation: String, _ got: [Float], columns: Int, tolerance: Double,
        expected: (Int) -> [(value: Double, scale: Double)]
    ) {
        let rows = columns == 0 ? 0 : got.count / columns
        var worst = 0.0
        var checked = 0
        for row in ConformanceContext.sampledRows(rows, columns: columns) {
            let reference = expected(row)
            precondition(reference.count == columns, "\(operation): \(reference.count) expected of \(columns)")
            for column in 0..<columns {
                let value = Double(got[row * columns + column])
                let (target, scale) = reference[column]
                let error: Double
                if target.isNaN || value.isNaN {
                    error = target.isNaN && value.isNaN ? 0 : .infinity
                } else if !value.isFinite || !target.isFinite {
                    error = value == target ? 0 : .infinity
                } else {
                    error = abs(value - target) / max(scale, Double.leastNormalMagnitude)
                }
                worst = max(worst, error)
                checked += 1
            }
        }
        results.append(
            ConformanceResult(
                operation: operation, size: size, checked: checked, error: worst, tolerance: tolerance))
    }

    /// Compares against plain values (scale max(|v|, 1)).
    mutating func compareValues(
        _ operation: String, _ got: [Float], columns: Int, tolerance: Double, values: (Int) -> [Double]
    ) {
        compare(operation, got, columns: columns, tolerance: tolerance) { row in
            values(row).map { ($0, max(abs($0), 1)) }
        }
    }

    /// Deterministic values in [−scale, scale): a hash of (seed, index), the same on every machine.
    static func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var result = [Float](repeating: 0, count: count)
        result.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<count {
                var z = (UInt64(i) &+ seed &* 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 31)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 29
                buffer[i] = (Float(z >> 40) / Float(1 << 24) * 2 - 1) * scale
            }
        }
        return result
    }

    /// `rows` rows of a softmax over `keys` random scores in [−3, 3): valid attention probabilities.
    static func probabilities(rows: Int, keys: Int, seed: UInt64) -> [Float] {
        let raw = values(rows * keys, seed: seed, scale: 3)
        var result = [Float](repeating: 0, count: raw.count)
        for row in 0..<rows {
            let exponentials = raw[(row * keys)..<((row + 1) * keys)].map { exp(Double($0)) }
            let sum = exponentials.reduce(0, +)
            for j in 0..<keys { result[row * keys + j] = Float(exponentials[j] / sum) }
        }
        return result
    }

    func tensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> (Tensor, [Float]) {
        let host = ConformanceContext.values(shape.reduce(1, *), seed: seed, scale: scale)
        return (backend.makeTensor(shape: shape, values: host), host)
    }
}

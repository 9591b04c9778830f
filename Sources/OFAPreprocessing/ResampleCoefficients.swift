// Fixed-point BICUBIC filter weights, computed exactly as Pillow's precompute_coeffs + normalize_coeffs_8bpc
// (libImaging/Resample.c; ofa-spec.md §6.1).
import Synchronization

struct ResampleCoefficients: Sendable {
    static let precisionBits = 22

    let inSize: Int
    let outSize: Int
    /// Taps per output sample (row length of `weights`).
    let kernelSize: Int
    /// First input index of each output sample.
    let first: [Int]
    /// Number of taps actually used by each output sample.
    let count: [Int]
    /// `outSize * kernelSize` weights scaled by 2^22, rounded half away from zero, unused taps zero.
    let weights: [Int32]

    init(inSize: Int, outSize: Int) {
        precondition(inSize > 0 && outSize > 0, "resample sizes must be positive")
        self.inSize = inSize
        self.outSize = outSize
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 2.0 * filterScale
        let kernelSize = Int(support.rounded(.up)) * 2 + 1
        let inverseScale = 1.0 / filterScale
        var first = [Int](repeating: 0, count: outSize)
        var count = [Int](repeating: 0, count: outSize)
        var weights = [Int32](repeating: 0, count: outSize * kernelSize)
        var taps = [Double](repeating: 0, count: kernelSize)
        for output in 0..<outSize {
            let center = (Double(output) + 0.5) * scale
            let low = max(0, Int(center - support + 0.5))  // Int() truncates toward zero, as C's (int)
            let high = min(inSize, Int(center + support + 0.5))
            let n = high - low
            var sum = 0.0
            for x in 0..<n {
                let w = ResampleCoefficients.bicubic((Double(x + low) - center + 0.5) * inverseScale)
                taps[x] = w
                sum += w
            }
            for x in 0..<n {
                let w = sum != 0 ? taps[x] / sum : taps[x]
                let scaled = w * Double(1 << ResampleCoefficients.precisionBits)
                weights[output * kernelSize + x] = Int32(w < 0 ? -0.5 + scaled : 0.5 + scaled)
            }
            first[output] = low
            count[output] = n
        }
        self.kernelSize = kernelSize
        self.first = first
        self.count = count
        self.weights = weights
    }

    /// Pillow's bicubic_filter with a = -0.5 (support 2).
    static func bicubic(_ value: Double) -> Double {
        let a = -0.5
        let x = abs(value)
        if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
        if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0.0
    }
}

/// Coefficients per (input size, output size), computed once and shared by all requests; bounded.
final class ResampleCoefficientCache: Sendable {
    static let shared = ResampleCoefficientCache(capacity: 256)

    private struct Key: Hashable {
        let inSize: Int
        let outSize: Int
    }

    private let capacity: Int
    private let entries = Mutex<[Key: ResampleCoefficients]>([:])

    init(capacity: Int) { self.capacity = capacity }

    func coefficients(inSize: Int, outSize: Int) -> ResampleCoefficients {
        let key = Key(inSize: inSize, outSize: outSize)
        if let hit = entries.withLock({ $0[key] }) { return hit }
        let computed = ResampleCoefficients(inSize: inSize, outSize: outSize)
        entries.withLock { table in
            if table.count >= capacity { table.removeAll(keepingCapacity: true) }
            table[key] = computed
        }
        return computed
    }
}

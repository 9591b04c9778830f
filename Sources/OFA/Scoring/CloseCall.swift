// bfloat16's close calls: where the top two answers of a bfloat16 run lie within a margin, the answer is computed
// again on image features made with float32 convolution inputs and weights (each bfloat16 weight plus its rounding
// residual), since rounding in the backbone is most of bfloat16's error (BENCHMARKS.md, "Close calls").
import Foundation

public enum CloseCall {
    /// Twice bfloat16's largest |Δp| on the committed cases (0.041, the OFA-large shape), rounded up: with errors as
    /// large as any measured, a wider bfloat16 margin keeps the float32 answer (a measured bound, not a proof).
    public static let defaultMargin: Float = 0.1

    /// Whether the two most probable answers are within `margin` of each other.
    public static func isClose(_ probabilities: [Float], margin: Float) -> Bool {
        guard probabilities.count >= 2 else { return false }
        let sorted = probabilities.sorted(by: >)
        return sorted[0] - sorted[1] < margin
    }
}

/// What an image's bfloat16 features keep for a close call: the normalised pixels, and the features recomputed
/// from them (made by the first close call on the image, then shared by later ones).
final class CloseCallImage: @unchecked Sendable {
    let pixels: [Float]
    let height: Int
    let width: Int
    private let lock = NSLock()
    private var recomputed: ImageFeatures?

    init(pixels: [Float], height: Int, width: Int) {
        self.pixels = pixels
        self.height = height
        self.width = width
    }

    /// The recomputed features, made by `make` the first time.
    func features(_ make: () -> ImageFeatures) -> ImageFeatures {
        lock.lock()
        defer { lock.unlock() }
        if let recomputed { return recomputed }
        let made = make()
        recomputed = made
        return made
    }
}

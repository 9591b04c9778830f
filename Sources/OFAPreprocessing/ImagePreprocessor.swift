// Image bytes to the model's pixel tensor, as modelscope's OFA visual-entailment preprocessor: load_image
// (open, exif_transpose, convert RGB) -> Resize((N, N), BICUBIC) -> ToTensor -> Normalize(mean, std).
import ImageIO

/// The model input for one image.
public struct PreparedImage: Sendable {
    /// CHW float32, `3 * size * size`, channels R, G, B.
    public let pixels: [Float]
    /// Side of the square patch image.
    public let size: Int
    /// Size of the upright image before resizing (what a heatmap overlays).
    public let originalWidth: Int
    public let originalHeight: Int
}

public struct ImagePreprocessor: Sendable {
    public let size: Int
    public let mean: [Float]
    public let std: [Float]
    public let decoder: ImageDecoder
    public let resampler: BicubicResampler
    /// Per channel, the normalised value of each uint8 level: ((v / 255) - mean) / std in float32.
    private let levels: [[Float]]

    /// `size` is the model's patch_image_size; mean/std are per channel (R, G, B).
    public init(
        size: Int = 480, mean: [Float] = [0.5, 0.5, 0.5], std: [Float] = [0.5, 0.5, 0.5],
        pixelLimit: Int = ImageDecoder.defaultPixelLimit, passOrder: ResizePassOrder = .referenceDefault
    ) {
        precondition(size > 0, "size must be positive")
        precondition(mean.count == 3 && std.count == 3, "mean and std need one value per channel")
        precondition(!std.contains(0), "std must not be zero")
        self.size = size
        self.mean = mean
        self.std = std
        self.decoder = ImageDecoder(pixelLimit: pixelLimit)
        self.resampler = BicubicResampler(passOrder: passOrder)
        // torchvision: to_tensor divides by 255 in float32, normalize subtracts mean then divides by std.
        self.levels = (0..<3).map { c in (0..<256).map { (Float($0) / 255 - mean[c]) / std[c] } }
    }

    /// Decoding stops with ImageError.deadlinePassed once it has taken `seconds`.
    public func callAsFunction(imageBytes: [UInt8], seconds: Double = .infinity) throws -> PreparedImage {
        callAsFunction(image: try decoder.decode(imageBytes, seconds: seconds).image)
    }

    /// For an already decoded upright RGB image (no EXIF handling, as for a PIL image passed directly).
    public func callAsFunction(image: RGBImage) -> PreparedImage {
        let resized = resampler.resize(image, width: size, height: size)
        return PreparedImage(
            pixels: normalize(resized), size: size, originalWidth: image.width, originalHeight: image.height)
    }

    /// HWC uint8 to CHW normalised float32.
    func normalize(_ image: RGBImage) -> [Float] {
        let plane = image.width * image.height
        return [Float](unsafeUninitializedCapacity: 3 * plane) { out, initialized in
            image.pixels.withUnsafeBufferPointer { src in
                for c in 0..<3 {
                    levels[c].withUnsafeBufferPointer { table in
                        let dst = out.baseAddress! + c * plane
                        for i in 0..<plane { dst[i] = table[Int(src[3 * i + c])] }
                    }
                }
            }
            initialized = 3 * plane
        }
    }
}

// Bytes to an upright RGB image, as Pillow's Image.open -> ImageOps.exif_transpose -> convert('RGB').

/// A decoded image: upright RGB pixels plus what the file said about itself.
public struct DecodedImage: Sendable {
    /// Upright RGB pixels (EXIF orientation applied); its width/height are the original size that a heatmap
    /// overlay should use.
    public let image: RGBImage
    public let format: ImageFormat
    public let orientation: Orientation

    public var width: Int { image.width }
    public var height: Int { image.height }
}

public struct ImageDecoder: Sendable {
    /// Pillow's Image.MAX_IMAGE_PIXELS (it warns above this and refuses above twice this).
    public static let defaultPixelLimit = 89_478_485

    /// Most scans a progressive JPEG may have. Each scan is a pass over the whole image, so a small file of many
    /// tiny scans costs minutes; cameras and encoders write about 10 (libjpeg-turbo suggests limits near 500).
    public static let defaultScanLimit = 500

    /// The most pixels (width × height, as declared in the header) an image may have.
    public var pixelLimit: Int
    /// The most scans a progressive JPEG may have.
    public var scanLimit: Int

    public init(pixelLimit: Int = ImageDecoder.defaultPixelLimit, scanLimit: Int = ImageDecoder.defaultScanLimit) {
        precondition(pixelLimit > 0, "pixelLimit must be positive")
        precondition(scanLimit > 0, "scanLimit must be positive")
        self.pixelLimit = pixelLimit
        self.scanLimit = scanLimit
    }

    /// Decodes within `seconds` of wall time (checked at every row of every scan), or throws `deadlinePassed`.
    public func decode(_ bytes: [UInt8], seconds: Double = .infinity) throws -> DecodedImage {
        let format = try ImageDecoder.format(of: bytes)
        let limits = DecodeLimits(pixels: pixelLimit, scans: scanLimit, seconds: seconds)
        let decoded = try bytes.withUnsafeBufferPointer { data in
            switch format {
            case .jpeg: return try JPEGDecoder.decode(data, limits: limits)
            case .png: return try PNGCodec.decode(data, limits: limits)
            }
        }
        let orientation = Orientation(exif: decoded.exif, xmp: decoded.xmp)
        return DecodedImage(image: orientation.apply(to: decoded.rgb()), format: format, orientation: orientation)
    }

    /// Recognises JPEG and PNG by their signatures, as Pillow's plugins accept them.
    public static func format(of bytes: [UInt8]) throws -> ImageFormat {
        if bytes.isEmpty { throw ImageError.empty }
        if let format = ImageFormat(signatureOf: bytes) { return format }
        let known: [(prefix: [UInt8], name: String)] = [
            (Array("GIF8".utf8), "GIF"), (Array("BM".utf8), "BMP"), (Array("II*\u{0}".utf8), "TIFF"),
            (Array("MM\u{0}*".utf8), "TIFF"), (Array("RIFF".utf8), "RIFF/WebP"),
        ]
        if let match = known.first(where: { bytes.starts(with: $0.prefix) }) {
            throw ImageError.unsupportedFormat(detail: match.name)
        }
        let head = bytes.prefix(4).map { String($0, radix: 16) }.joined(separator: " ")
        throw ImageError.unsupportedFormat(detail: "unrecognised leading bytes \(head)")
    }
}

/// Encodes images as PNG (for heatmaps and debugging).
public enum PNGEncoder {
    public static func encode(_ image: RGBImage) throws -> [UInt8] { try PNGCodec.encode(image) }
}

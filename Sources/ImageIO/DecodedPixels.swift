// What a codec hands back before colour conversion: pixels in the codec's own layout plus orientation metadata.

enum PixelLayout {
    case gray8
    /// 16-bit gray, big-endian (PNG).
    case gray16
    case rgb8
    /// Adobe-style inverted CMYK as libjpeg returns it (Pillow's rawmode "CMYK;I").
    case invertedCMYK8

    var bytesPerPixel: Int {
        switch self {
        case .gray8: return 1
        case .gray16: return 2
        case .rgb8: return 3
        case .invertedCMYK8: return 4
        }
    }
}

/// What one decode may cost: declared pixels, JPEG scans, and wall time in seconds (infinity: no limit).
struct DecodeLimits {
    var pixels: Int
    var scans: Int
    var seconds: Double
}

struct DecodedPixels {
    var width: Int
    var height: Int
    var layout: PixelLayout
    var bytes: [UInt8]
    /// TIFF-structured EXIF data (JPEG APP1 after "Exif\0\0", PNG eXIf), if present.
    var exif: [UInt8]?
    /// JPEG XMP packet, if present (Pillow falls back to its tiff:Orientation).
    var xmp: [UInt8]?
}

/// Fills an array of `count` bytes through `body`, which returns a codec status.
func withNewBuffer(count: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int32) -> ([UInt8], Int32) {
    var status: Int32 = 0
    let buffer = [UInt8](unsafeUninitializedCapacity: count) { storage, initialized in
        status = body(storage.baseAddress!)
        if status != 0 { storage.initialize(repeating: 0) }
        initialized = count
    }
    return (buffer, status)
}

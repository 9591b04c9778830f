// PNG decoding and encoding through libpng (the only Swift file importing it, via the CImageCodecs helper).
import CImageCodecs

#if canImport(Glibc)
    import Glibc
#endif

enum PNGCodec {
    /// Decodes as Pillow's PngImagePlugin followed by convert('RGB') needs it: palette expanded to RGB (tRNS
    /// ignored), 1/2/4-bit gray scaled to 8 bits, 16-bit samples cut to their high byte except plain 16-bit gray
    /// (kept whole: Pillow's "I;16"), alpha dropped without compositing. No gamma or ICC handling, as in Pillow.
    static func decode(_ data: UnsafeBufferPointer<UInt8>, limits: DecodeLimits) throws -> DecodedPixels {
        guard let decoder = ofa_png_create(data.baseAddress, data.count) else { throw ImageError.outOfMemory(.png) }
        defer { ofa_png_destroy(decoder) }
        ofa_png_set_deadline(decoder, limits.seconds)
        ofa_png_set_pixel_limit(decoder, UInt64(limits.pixels))
        let pixelLimit = limits.pixels

        var info = ofa_png_info()
        let headerStatus = ofa_png_read_header(decoder, &info)
        let width = Int(info.width)
        let height = Int(info.height)
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixels > pixelLimit {
            throw ImageError.tooManyPixels(width: width, height: height, limit: pixelLimit)
        }
        try check(headerStatus, decoder)

        let layout: PixelLayout
        switch UInt32(info.layout) {
        case OFA_PNG_GRAY8.rawValue: layout = .gray8
        case OFA_PNG_GRAY16.rawValue: layout = .gray16
        default: layout = .rgb8
        }
        let stride = width * layout.bytesPerPixel
        let (bytes, status) = withNewBuffer(count: stride * height) { ofa_png_decode(decoder, $0, stride, &info) }
        try check(status, decoder)
        let exif = info.exif.map { Array(UnsafeBufferPointer(start: $0, count: info.exif_size)) }
        return DecodedPixels(width: width, height: height, layout: layout, bytes: bytes, exif: exif, xmp: nil)
    }

    /// Encodes an RGB image as an 8-bit RGB PNG.
    public static func encode(_ image: RGBImage) throws -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            ofa_png_encode(
                pixels.baseAddress, UInt32(image.width), UInt32(image.height), 3, image.width * 3,
                &output, &size, &message, message.count)
        }
        defer { free(output) }
        guard status == 0, let output else {
            if UInt32(status) == OFA_CODEC_NO_MEMORY.rawValue { throw ImageError.outOfMemory(.png) }
            throw ImageError.encodingFailed(reason: String(cString: message))
        }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }

    private static func check(_ status: Int32, _ decoder: OpaquePointer) throws {
        guard status != 0 else { return }
        let message = String(cString: ofa_png_message(decoder))
        switch UInt32(status) {
        case OFA_CODEC_TRUNCATED.rawValue: throw ImageError.truncated(.png)
        case OFA_CODEC_UNSUPPORTED.rawValue: throw ImageError.unsupportedLayout(.png, detail: message)
        case OFA_CODEC_NO_MEMORY.rawValue: throw ImageError.outOfMemory(.png)
        case OFA_CODEC_ZERO_SIZE.rawValue: throw ImageError.zeroSize(.png)
        case OFA_CODEC_DEADLINE.rawValue: throw ImageError.deadlinePassed(.png)
        default: throw ImageError.corrupt(.png, reason: message)
        }
    }
}

// JPEG decoding through libjpeg-turbo (the only Swift file importing it, via the CImageCodecs helper).
import CImageCodecs

enum JPEGDecoder {
    /// Decodes as Pillow's JpegImagePlugin does: libjpeg's default (islow) IDCT and fancy upsampling, YCbCr/RGB
    /// to RGB, gray as gray, CMYK/YCCK to (Adobe-inverted) CMYK. Checks the pixel limit before allocating pixels;
    /// the scan limit and the deadline stop the decode from libjpeg's progress monitor.
    static func decode(_ data: UnsafeBufferPointer<UInt8>, limits: DecodeLimits) throws -> DecodedPixels {
        guard let decoder = ofa_jpeg_create(data.baseAddress, data.count) else { throw ImageError.outOfMemory(.jpeg) }
        defer { ofa_jpeg_destroy(decoder) }
        ofa_jpeg_set_limits(decoder, Int32(clamping: limits.scans), limits.seconds)
        let pixelLimit = limits.pixels

        var info = ofa_jpeg_info()
        let headerStatus = ofa_jpeg_read_header(decoder, &info)
        let width = Int(info.width)
        let height = Int(info.height)
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixels > pixelLimit {
            throw ImageError.tooManyPixels(width: width, height: height, limit: pixelLimit)
        }
        try check(headerStatus, decoder)

        let layout: PixelLayout
        switch Int(info.color) {
        case Int(OFA_JPEG_GRAY.rawValue): layout = .gray8
        case Int(OFA_JPEG_RGB.rawValue): layout = .rgb8
        default: layout = .invertedCMYK8
        }
        let exif = info.exif.map { Array(UnsafeBufferPointer(start: $0, count: info.exif_size)) }
        let xmp = info.xmp.map { Array(UnsafeBufferPointer(start: $0, count: info.xmp_size)) }

        let stride = width * layout.bytesPerPixel
        let (bytes, status) = withNewBuffer(count: stride * height) { ofa_jpeg_decode(decoder, $0, stride) }
        try check(status, decoder)
        return DecodedPixels(width: width, height: height, layout: layout, bytes: bytes, exif: exif, xmp: xmp)
    }

    private static func check(_ status: Int32, _ decoder: OpaquePointer) throws {
        guard status != 0 else { return }
        let message = String(cString: ofa_jpeg_message(decoder))
        switch UInt32(status) {
        case OFA_CODEC_TRUNCATED.rawValue: throw ImageError.truncated(.jpeg)
        case OFA_CODEC_UNSUPPORTED.rawValue: throw ImageError.unsupportedLayout(.jpeg, detail: message)
        case OFA_CODEC_NO_MEMORY.rawValue: throw ImageError.outOfMemory(.jpeg)
        case OFA_CODEC_ZERO_SIZE.rawValue: throw ImageError.zeroSize(.jpeg)
        case OFA_CODEC_TOO_MANY_SCANS.rawValue: throw ImageError.tooManyScans(limit: Int(ofa_jpeg_scan_limit(decoder)))
        case OFA_CODEC_DEADLINE.rawValue: throw ImageError.deadlinePassed(.jpeg)
        default: throw ImageError.corrupt(.jpeg, reason: message)
        }
    }
}

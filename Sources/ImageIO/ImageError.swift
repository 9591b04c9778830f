// Why an image could not be decoded (or encoded), one case per culprit.

public enum ImageFormat: String, Sendable, Equatable, CustomStringConvertible {
    case jpeg = "JPEG"
    case png = "PNG"

    public var description: String { rawValue }
}

public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No bytes at all.
    case empty
    /// The bytes are not a JPEG or PNG file; `detail` names what was recognised, if anything.
    case unsupportedFormat(detail: String)
    /// A JPEG or PNG whose data ends before the image does.
    case truncated(ImageFormat)
    /// A JPEG or PNG that its library rejected; `reason` is the library's message.
    case corrupt(ImageFormat, reason: String)
    /// A valid file in a layout that is not decoded (e.g. a two-channel JPEG).
    case unsupportedLayout(ImageFormat, detail: String)
    /// The header declares a zero width or height.
    case zeroSize(ImageFormat)
    /// The header declares more pixels than allowed; found before any pixel memory is allocated.
    case tooManyPixels(width: Int, height: Int, limit: Int)
    case outOfMemory(ImageFormat)
    /// A progressive JPEG with more scans than allowed (each scan costs a pass over the whole image).
    case tooManyScans(limit: Int)
    /// Decoding went past its deadline (the request's time ran out) and was stopped.
    case deadlinePassed(ImageFormat)
    /// Encoding failed; `reason` is the library's message.
    case encodingFailed(reason: String)

    public var description: String {
        switch self {
        case .empty: return "the image data is empty"
        case .unsupportedFormat(let detail): return "not a JPEG or PNG image (\(detail))"
        case .truncated(let format): return "the \(format) data is truncated"
        case .corrupt(let format, let reason): return "the \(format) data is corrupt: \(reason)"
        case .unsupportedLayout(let format, let detail): return "unsupported \(format) layout: \(detail)"
        case .zeroSize(let format): return "the \(format) header declares a zero width or height"
        case .tooManyPixels(let width, let height, let limit):
            let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
            let count = overflow ? "more than \(Int.max)" : "\(pixels)"
            return "the image is \(width)×\(height) = \(count) pixels, more than the limit of \(limit)"
        case .outOfMemory(let format): return "out of memory while decoding \(format)"
        case .tooManyScans(let limit):
            return "the progressive JPEG has more than \(limit) scans (each scan is a pass over the whole image)"
        case .deadlinePassed(let format): return "decoding the \(format) image took longer than the request allows"
        case .encodingFailed(let reason): return "PNG encoding failed: \(reason)"
        }
    }
}

// Animated GIF89a encoding through giflib (the only Swift file importing it): one global palette, a graphic
// control extension with the delay per frame, and the NETSCAPE2.0 application extension for looping.
// giflib reports failures as return codes (no longjmp), so no C helper is needed; every code becomes a GIFError.
import CGIF
import ImageIO

/// How an animation repeats: written as the NETSCAPE2.0 loop count (0 = forever), or no extension at all.
public enum GIFLoop: Sendable, Equatable, Hashable {
    case forever
    /// The NETSCAPE2.0 loop count, 1…65535 (players differ on whether the first showing counts).
    case count(Int)
    /// No NETSCAPE2.0 block: the animation plays once.
    case once
}

public enum GIFError: Error, Equatable, Sendable, CustomStringConvertible {
    case noFrames
    case frameSizeMismatch(index: Int, width: Int, height: Int)
    case tooLarge(width: Int, height: Int)
    case badLoopCount(Int)
    case badDelay(Int)
    /// giflib failed in `operation` with its error code and message.
    case library(operation: String, code: Int, message: String)

    public var description: String {
        switch self {
        case .noFrames: return "an animation needs at least one frame"
        case .frameSizeMismatch(let index, let width, let height):
            return "frame \(index) is \(width)×\(height), not the first frame's size"
        case .tooLarge(let width, let height): return "\(width)×\(height) is larger than GIF's 65535×65535"
        case .badLoopCount(let count): return "loop count \(count) is not in 1…65535"
        case .badDelay(let delay): return "frame delay \(delay) cs is not in 0…65535"
        case .library(let operation, let code, let message): return "giflib \(operation) failed (\(code)): \(message)"
        }
    }
}

public enum GIFEncoder {
    /// Quantises all frames to one palette and encodes them, each shown for `delayCentiseconds`.
    public static func encode(_ frames: [RGBImage], delayCentiseconds: Int, loop: GIFLoop) throws -> [UInt8] {
        guard let first = frames.first else { throw GIFError.noFrames }
        for (i, frame) in frames.enumerated() where frame.width != first.width || frame.height != first.height {
            throw GIFError.frameSizeMismatch(index: i, width: frame.width, height: frame.height)
        }
        let quantizer = PaletteQuantizer(frames: frames)
        return try encode(
            indexed: frames.map(quantizer.indices), width: first.width, height: first.height,
            palette: quantizer.palette, delays: Array(repeating: delayCentiseconds, count: frames.count), loop: loop)
    }

    /// Encodes palette-index frames (width·height bytes each, values < palette.count ≤ 256).
    public static func encode(
        indexed frames: [[UInt8]], width: Int, height: Int, palette: [RGB], delays: [Int],
        loop: GIFLoop
    ) throws -> [UInt8] {
        guard !frames.isEmpty, delays.count == frames.count else { throw GIFError.noFrames }
        guard width > 0, height > 0, width <= 65535, height <= 65535 else {
            throw GIFError.tooLarge(width: width, height: height)
        }
        precondition(palette.count >= 1 && palette.count <= 256, "a GIF palette has 1…256 colours")
        for (i, frame) in frames.enumerated() where frame.count != width * height {
            throw GIFError.frameSizeMismatch(index: i, width: frame.count, height: 1)
        }
        if let bad = delays.first(where: { $0 < 0 || $0 > 65535 }) { throw GIFError.badDelay(bad) }
        if case .count(let count) = loop, count < 1 || count > 65535 { throw GIFError.badLoopCount(count) }

        let sink = Sink()
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        var openError: Int32 = 0
        guard
            let gif = EGifOpen(
                context.toOpaque(),
                { file, data, length in
                    guard let file, let data, let user = file.pointee.UserData else { return 0 }
                    Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue().bytes
                        .append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
                    return length
                }, &openError)
        else {
            throw GIFError.library(operation: "EGifOpen", code: Int(openError), message: message(openError))
        }
        var closed = false
        defer {
            if !closed {
                var ignored: Int32 = 0
                _ = EGifCloseFile(gif, &ignored)
            }
        }
        func check(_ status: Int32, _ operation: String) throws {
            guard status == GIF_OK else {
                let code = gif.pointee.Error
                throw GIFError.library(operation: operation, code: Int(code), message: message(code))
            }
        }

        EGifSetGifVersion(gif, true)
        var size = 2
        while size < palette.count { size *= 2 }
        var colors = palette.map { GifColorType(Red: $0.red, Green: $0.green, Blue: $0.blue) }
        colors += Array(repeating: GifColorType(Red: 0, Green: 0, Blue: 0), count: size - colors.count)
        guard let map = GifMakeMapObject(Int32(size), colors) else {
            throw GIFError.library(
                operation: "GifMakeMapObject", code: Int(E_GIF_ERR_NOT_ENOUGH_MEM),
                message: message(E_GIF_ERR_NOT_ENOUGH_MEM))
        }
        defer { GifFreeMapObject(map) }
        try check(EGifPutScreenDesc(gif, Int32(width), Int32(height), 8, 0, map), "EGifPutScreenDesc")

        if loop != .once {
            let count: Int
            if case .count(let n) = loop { count = n } else { count = 0 }
            try check(EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE), "EGifPutExtensionLeader")
            try check(EGifPutExtensionBlock(gif, 11, Array("NETSCAPE2.0".utf8)), "EGifPutExtensionBlock")
            try check(
                EGifPutExtensionBlock(gif, 3, [1, UInt8(count & 0xFF), UInt8(count >> 8)]),
                "EGifPutExtensionBlock")
            try check(EGifPutExtensionTrailer(gif), "EGifPutExtensionTrailer")
        }

        for (frame, delay) in zip(frames, delays) {
            var control = GraphicsControlBlock(
                DisposalMode: DISPOSE_DO_NOT, UserInputFlag: false, DelayTime: Int32(delay),
                TransparentColor: NO_TRANSPARENT_COLOR)
            var extensionBytes = [UInt8](repeating: 0, count: 4)
            let length = EGifGCBToExtension(&control, &extensionBytes)
            try check(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, Int32(length), extensionBytes), "EGifPutExtension")
            try check(EGifPutImageDesc(gif, 0, 0, Int32(width), Int32(height), false, nil), "EGifPutImageDesc")
            var pixels = frame
            try check(EGifPutLine(gif, &pixels, Int32(pixels.count)), "EGifPutLine")
        }

        closed = true
        var closeError: Int32 = 0
        guard EGifCloseFile(gif, &closeError) == GIF_OK else {
            throw GIFError.library(operation: "EGifCloseFile", code: Int(closeError), message: message(closeError))
        }
        return sink.bytes
    }

    private final class Sink {
        var bytes: [UInt8] = []
    }

    private static func message(_ code: Int32) -> String {
        guard let text = GifErrorString(code) else { return "unknown error" }
        return String(cString: text)
    }
}

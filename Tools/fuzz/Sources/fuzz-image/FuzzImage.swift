// libFuzzer target: any bytes through the header sniffer and the full decoder (JPEG, PNG, EXIF/XMP orientation).
// Throwing is the expected outcome for most inputs; a trap, a sanitizer report, a leak or a hang is a bug.
import ImageIO

#if canImport(Glibc)
    import Glibc
#endif

/// Small enough that a header declaring more is refused before allocation, as the daemon refuses it.
private let pixelLimit = 1_000_000
private let decoder = ImageDecoder(pixelLimit: pixelLimit)
/// OFA_FUZZ_VERBOSE=1: one line per input saying what it decoded to (for checking seeds).
private let verbose = getenv("OFA_FUZZ_VERBOSE") != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let header = ImageHeader(bytes)
    if let header {
        precondition(header.width > 0 && header.height > 0, "ImageHeader accepted an empty size")
        _ = header.pixels
    }
    do {
        let image = try decoder.decode(bytes)
        precondition(image.width > 0 && image.height > 0, "decoded an empty image")
        precondition(image.width * image.height <= pixelLimit, "decoded past the pixel limit")
        precondition(image.image.pixels.count == image.width * image.height * 3, "pixel buffer of the wrong size")
        if verbose {
            let declared = header.map { "header \($0.width)×\($0.height)" } ?? "no header"
            let size = "\(image.width)×\(image.height)"
            print("decoded \(image.format) \(size) orientation \(image.orientation.value), \(declared)")
        }
    } catch {
        if verbose { print("error: \(error)") }
    }
    return 0
}

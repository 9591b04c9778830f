// libFuzzer target: the input's tail as the EXIF (TIFF) or XMP metadata of a small valid JPEG or PNG, decoded in
// full, so every input reaches the orientation parser and the transpose it picks. The first byte picks the carrier.
import ImageIO

#if canImport(Glibc)
    import Glibc
#endif

private let decoder = ImageDecoder(pixelLimit: 64)
private let verbose = getenv("OFA_FUZZ_VERBOSE") != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let metadata = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let carrier = Carrier(rawValue: data[0] % UInt8(Carrier.allCases.count))!
    do {
        let image = try decoder.decode(carrier.file(holding: metadata))
        let upright = image.orientation.value >= 5 && image.orientation.value <= 8
        precondition(image.width == (upright ? Carrier.height : Carrier.width), "transpose gave the wrong width")
        precondition(image.image.pixels.count == Carrier.width * Carrier.height * 3, "transpose lost pixels")
        if verbose { print("\(carrier): orientation \(image.orientation.value)") }
    } catch {
        if verbose { print("\(carrier): error: \(error)") }
    }
    return 0
}

/// Where the metadata travels: a JPEG APP1 segment (EXIF or XMP), or a PNG eXIf chunk before or after IDAT.
enum Carrier: UInt8, CaseIterable {
    case jpegEXIF, jpegXMP, pngEXIFBeforeData, pngEXIFAfterData

    /// The carrier image is 3×2, so a transpose shows in its size.
    static let width = 3
    static let height = 2

    func file(holding metadata: [UInt8]) -> [UInt8] {
        switch self {
        case .jpegEXIF: return JPEG.file(app1: Array("Exif\0\0".utf8) + metadata)
        case .jpegXMP: return JPEG.file(app1: Array("http://ns.adobe.com/xap/1.0/\0".utf8) + metadata)
        case .pngEXIFBeforeData: return PNG.file(exif: metadata, afterData: false)
        case .pngEXIFAfterData: return PNG.file(exif: metadata, afterData: true)
        }
    }
}

/// A 3×2 mid-gray baseline JPEG: one 8×8 block with only a DC of 0, coded with one-symbol Huffman tables.
enum JPEG {
    static func segment(_ marker: UInt8, _ body: [UInt8]) -> [UInt8] {
        let length = min(body.count, 0xFFFF - 2)
        return [0xFF, marker, UInt8((length + 2) >> 8), UInt8((length + 2) & 0xFF)] + body.prefix(length)
    }

    static func file(app1: [UInt8]) -> [UInt8] {
        let oneCode = [1] + [UInt8](repeating: 0, count: 15) + [0]  // one code of length 1, symbol 0
        let frame: [UInt8] = [8, 0, UInt8(Carrier.height), 0, UInt8(Carrier.width), 1, 1, 0x11, 0]
        return [0xFF, 0xD8] + segment(0xE1, app1)
            + segment(0xDB, [0] + [UInt8](repeating: 1, count: 64))
            + segment(0xC0, frame)
            + segment(0xC4, [0x00] + oneCode) + segment(0xC4, [0x10] + oneCode)
            + segment(0xDA, [1, 1, 0x00, 0, 63, 0])
            + [0x3F, 0xFF, 0xD9]  // DC category 0, EOB, padded with ones
    }
}

/// A 3×2 8-bit RGB PNG with stored (uncompressed) image data.
enum PNG {
    static func file(exif: [UInt8], afterData: Bool) -> [UInt8] {
        var header: [UInt8] = []
        for value in [UInt32(Carrier.width), UInt32(Carrier.height)] { header += bigEndian(value) }
        header += [8, 2, 0, 0, 0]
        let row = [0] + [UInt8](repeating: 0x80, count: Carrier.width * 3)
        let raw = Array([[UInt8]](repeating: row, count: Carrier.height).joined())
        let length = UInt16(raw.count)
        let stored =
            [0x78, 0x01, 0x01, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
            + raw + bigEndian(adler32(raw))
        let exifChunk = chunk("eXIf", exif)
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header)
            + (afterData ? [] : exifChunk) + chunk("IDAT", stored) + (afterData ? exifChunk : []) + chunk("IEND", [])
    }

    static func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        return bigEndian(UInt32(body.count)) + typed + bigEndian(crc32(typed))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    static let crcTable: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        ~bytes.reduce(~UInt32(0)) { crcTable[Int(($0 ^ UInt32($1)) & 0xFF)] ^ ($0 >> 8) }
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return b << 16 | a
    }
}

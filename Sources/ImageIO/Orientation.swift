// EXIF orientation as Pillow's ImageOps.exif_transpose reads and applies it.

/// The EXIF orientation tag value (1–8); values outside 2…8 leave the image as it is.
public struct Orientation: Sendable, Equatable {
    public let value: Int

    public static let identity = Orientation(value: 1)

    public init(value: Int) { self.value = value }

    /// Reads tag 0x0112 from IFD0 of TIFF-structured EXIF data; falls back to `tiff:Orientation` in an XMP packet
    /// (Pillow's Image.getexif does both). A tag with a count other than one is ignored, as Pillow's lookup does.
    init(exif: [UInt8]?, xmp: [UInt8]?) {
        if let exif, let value = Orientation.tagValue(inTIFF: exif) {
            self.value = value
        } else if let xmp, let value = Orientation.xmpValue(xmp) {
            self.value = value
        } else {
            self.value = 1
        }
    }

    private static func tagValue(inTIFF data: [UInt8]) -> Int? {
        guard data.count >= 8 else { return nil }
        let little: Bool
        switch (data[0], data[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= data.count else { return nil }
            return little ? Int(data[at]) | Int(data[at + 1]) << 8 : Int(data[at]) << 8 | Int(data[at + 1])
        }
        func u8(_ at: Int) -> Int? {
            guard at >= 0, at < data.count else { return nil }
            return Int(data[at])
        }
        func u32(_ at: Int) -> Int? {
            guard let a = u16(at), let b = u16(at + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard let ifd = u32(4), let entries = u16(ifd) else { return nil }
        for index in 0..<entries {
            let entry = ifd + 2 + 12 * index
            guard let tag = u16(entry), let type = u16(entry + 2), let count = u32(entry + 4) else { return nil }
            guard tag == 0x0112 else { continue }
            guard count == 1 else { return nil }
            switch type {
            case 3: return u16(entry + 8)  // SHORT
            case 4: return u32(entry + 8)  // LONG
            case 1, 7: return u8(entry + 8)  // BYTE, UNDEFINED
            default: return nil
            }
        }
        return nil
    }

    /// Pillow: `re.search(rb'tiff:Orientation(="|>)([0-9])', xmp)`.
    private static func xmpValue(_ xmp: [UInt8]) -> Int? {
        let key = Array("tiff:Orientation".utf8)
        var i = 0
        while i + key.count + 1 < xmp.count {
            if xmp[i] == key[0], Array(xmp[i..<(i + key.count)]) == key {
                var j = i + key.count
                if xmp[j] == UInt8(ascii: "=") && j + 1 < xmp.count && xmp[j + 1] == UInt8(ascii: "\"") {
                    j += 2
                } else if xmp[j] == UInt8(ascii: ">") {
                    j += 1
                } else {
                    i += 1
                    continue
                }
                if j < xmp.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(xmp[j]) {
                    return Int(xmp[j] - UInt8(ascii: "0"))
                }
            }
            i += 1
        }
        return nil
    }

    /// Applies the transpose Pillow picks for this value (2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM,
    /// 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90; Pillow rotations are counter-clockwise).
    public func apply(to image: RGBImage) -> RGBImage {
        guard (2...8).contains(value) else { return image }
        let w = image.width
        let h = image.height
        let swaps = value >= 5
        let outWidth = swaps ? h : w
        let outHeight = swaps ? w : h
        // Source pixel for output (x, y).
        let source: (Int, Int) -> Int
        switch value {
        case 2: source = { x, y in y * w + (w - 1 - x) }
        case 3: source = { x, y in (h - 1 - y) * w + (w - 1 - x) }
        case 4: source = { x, y in (h - 1 - y) * w + x }
        case 5: source = { x, y in x * w + y }
        case 6: source = { x, y in (h - 1 - x) * w + y }
        case 7: source = { x, y in (h - 1 - x) * w + (w - 1 - y) }
        default: source = { x, y in x * w + (w - 1 - y) }
        }
        let pixels = [UInt8](unsafeUninitializedCapacity: w * h * 3) { out, initialized in
            image.pixels.withUnsafeBufferPointer { src in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let s = 3 * source(x, y)
                        let d = 3 * (y * outWidth + x)
                        out[d] = src[s]
                        out[d + 1] = src[s + 1]
                        out[d + 2] = src[s + 2]
                    }
                }
            }
            initialized = w * h * 3
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: pixels)
    }
}

// The one image sniffer: a file's format from its signature, and its size from its header, so oversized images are
// refused before decoding.

extension ImageFormat {
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]

    /// The format whose signature `bytes` start with, as Pillow's plugins accept them; nil for anything else.
    public init?(signatureOf bytes: [UInt8]) {
        if bytes.starts(with: Self.jpegSignature) {
            self = .jpeg
        } else if bytes.starts(with: Self.pngSignature) {
            self = .png
        } else {
            return nil
        }
    }
}

public struct ImageHeader: Equatable, Sendable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int

    /// width × height; Int.max when the product does not fit (a header may declare 0xFFFFFFFF × 0xFFFFFFFF).
    public var pixels: Int {
        let (product, overflow) = width.multipliedReportingOverflow(by: height)
        return overflow ? Int.max : product
    }

    /// Nil when the bytes are not a PNG or JPEG (the formats the engine decodes) with a readable size.
    public init?(_ bytes: [UInt8]) {
        switch ImageFormat(signatureOf: bytes) {
        case .png:
            // The first chunk must be IHDR: width and height are big-endian words at offsets 16 and 20.
            guard bytes.count >= 33, Array(bytes[12..<16]) == Array("IHDR".utf8) else { return nil }
            self.init(format: .png, width: Self.bigEndian(bytes, 16, 4), height: Self.bigEndian(bytes, 20, 4))
        case .jpeg:
            guard let size = Self.jpegSize(bytes) else { return nil }
            self.init(format: .jpeg, width: size.width, height: size.height)
        case nil:
            return nil
        }
        guard width > 0, height > 0 else { return nil }
    }

    private init(format: ImageFormat, width: Int, height: Int) {
        self.format = format
        self.width = width
        self.height = height
    }

    private static func bigEndian(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> Int {
        bytes[offset..<(offset + count)].reduce(0) { $0 << 8 | Int($1) }
    }

    /// Walks the marker segments up to the first start-of-frame (SOF0–SOF15 but DHT, JPG and DAC).
    private static func jpegSize(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
        var index = 2
        while index + 4 <= bytes.count {
            guard bytes[index] == 0xff else { return nil }
            let marker = bytes[index + 1]
            if marker == 0xff {
                index += 1
                continue
            }
            if marker == 0xd8 || marker == 0x01 || (0xd0...0xd7).contains(marker) {
                index += 2
                continue
            }
            let length = bigEndian(bytes, index + 2, 2)
            guard length >= 2 else { return nil }
            if (0xc0...0xcf).contains(marker) && ![0xc4, 0xc8, 0xcc].contains(marker) {
                guard index + 9 <= bytes.count else { return nil }
                return (bigEndian(bytes, index + 7, 2), bigEndian(bytes, index + 5, 2))
            }
            index += 2 + length
        }
        return nil
    }
}

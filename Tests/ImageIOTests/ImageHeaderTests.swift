// The one image sniffer: format from the signature, size from the header, without decoding.
import Foundation
import ImageIO
import Testing

private func grayPNG(width: Int, height: Int) throws -> [UInt8] {
    try PNGEncoder.encode(
        RGBImage(width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height * 3)))
}

@Suite struct ImageHeaderTests {
    @Test func pngSizeComesFromIHDR() throws {
        let png = try grayPNG(width: 7, height: 5)
        #expect(ImageHeader(png)?.format == .png)
        #expect(ImageHeader(png).map { [$0.width, $0.height] } == [7, 5])
        #expect(ImageHeader(png)?.pixels == 35)
        #expect(ImageHeader(png) != ImageHeader(try grayPNG(width: 5, height: 7)))
    }

    @Test func jpegSizeComesFromTheFirstStartOfFrame() {
        // SOI, an APP0 segment, then SOF0 with height 480 and width 640.
        let jpeg: [UInt8] = [
            0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46, 0xff, 0xc0, 0x00, 0x11, 0x08,
            0x01, 0xe0, 0x02, 0x80, 0x03,
        ]
        #expect(ImageHeader(jpeg)?.format == .jpeg)
        #expect(ImageHeader(jpeg).map { [$0.width, $0.height] } == [640, 480])
    }

    @Test func truncatedOrUnknownBytesHaveNoHeader() throws {
        #expect(ImageHeader([]) == nil)
        // GIF is not decoded, so it has no header here either.
        #expect(ImageHeader(Array("GIF89a".utf8) + [0x40, 0x01, 0xf0, 0x00, 0, 0, 0]) == nil)
        #expect(ImageHeader([0xff, 0xd8, 0xff, 0xe0, 0x00]) == nil)
        #expect(ImageHeader(Array(try grayPNG(width: 1, height: 1).prefix(20))) == nil)
        #expect(ImageHeader(Array("BM not supported".utf8)) == nil)
    }

    @Test func theDecoderTakesExactlyTheFormatsTheSignatureNames() throws {
        let png = try grayPNG(width: 2, height: 2)
        #expect(ImageFormat(signatureOf: png) == .png)
        #expect(try ImageDecoder.format(of: png) == .png)
        #expect(ImageFormat(signatureOf: [0xff, 0xd8, 0xff, 0xdb]) == .jpeg)
        #expect(try ImageDecoder.format(of: [0xff, 0xd8, 0xff, 0xdb]) == .jpeg)
        let gif = Array("GIF89a".utf8)
        #expect(ImageFormat(signatureOf: gif) == nil)
        #expect(throws: ImageError.unsupportedFormat(detail: "GIF")) { try ImageDecoder.format(of: gif) }
    }
}

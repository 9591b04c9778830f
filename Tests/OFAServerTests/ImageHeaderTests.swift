// Image headers: format and size read from PNG and JPEG bytes, nothing from anything else.
import XCTest

@testable import OFAServer

final class ImageHeaderTests: XCTestCase {
    func testPNGSizeComesFromIHDR() {
        let png = grayPNG(width: 7, height: 5) { _, _ in 0 }
        XCTAssertEqual(ImageHeader(png)?.pixels, 35)
        XCTAssertNotEqual(ImageHeader(png), ImageHeader(grayPNG(width: 5, height: 7) { _, _ in 0 }))
        XCTAssertEqual(ImageHeader(png)?.format, .png)
        XCTAssertEqual(ImageHeader(png).map { [$0.width, $0.height] }, [7, 5])
    }

    func testJPEGSizeComesFromTheFirstStartOfFrame() {
        // SOI, an APP0 segment, then SOF0 with height 480 and width 640.
        let jpeg: [UInt8] = [
            0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46, 0xff, 0xc0, 0x00, 0x11, 0x08,
            0x01, 0xe0, 0x02, 0x80, 0x03,
        ]
        XCTAssertEqual(ImageHeader(jpeg).map { [$0.width, $0.height] }, [640, 480])
    }

    func testTruncatedOrUnknownBytesHaveNoHeader() {
        XCTAssertNil(ImageHeader([]))
        // GIF is not decoded by the engine, so it has no header here either.
        XCTAssertNil(ImageHeader(Array("GIF89a".utf8) + [0x40, 0x01, 0xf0, 0x00, 0, 0, 0]))
        XCTAssertNil(ImageHeader([0xff, 0xd8, 0xff, 0xe0, 0x00]))
        XCTAssertNil(ImageHeader(Array(grayPNG(width: 1, height: 1) { _, _ in 0 }.prefix(20))))
        XCTAssertNil(ImageHeader(Array("BM not supported".utf8)))
    }
}

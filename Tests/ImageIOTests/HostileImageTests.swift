// Crafted images (Tests/Fixtures/hostile, issue 12): each is a typed error within bounded work, never a crash.
import CImageCodecs
import FixtureSupport
import Foundation
import ImageIO
import Testing

@Suite struct HostileImageTests {
    @Test func aHeaderDeclaringFourBillionSquaredPixelsHasASaturatedPixelCountAndIsRefused() throws {
        let bytes = try Fixtures.hostileBytes("png-declares-4294967295-squared.png")
        let header = try #require(ImageHeader(bytes))
        #expect(header.width == 0xFFFF_FFFF && header.height == 0xFFFF_FFFF)
        #expect(header.pixels == Int.max)
        #expect(throws: ImageError.self) { try ImageDecoder().decode(bytes) }
        do {
            _ = try ImageDecoder().decode(bytes)
        } catch let error as ImageError {
            // The description multiplies too: it must not overflow either.
            #expect(!error.description.isEmpty)
        }
    }

    @Test(arguments: ["png-exif-byte-orientation-at-end.png", "jpeg-exif-byte-orientation-at-end.jpg"])
    func aByteOrientationEntryEndingTheExifDataIsIgnoredNotReadPastTheEnd(name: String) throws {
        let decoded = try ImageDecoder().decode(try Fixtures.hostileBytes(name))
        #expect(decoded.orientation == .identity)
        #expect(decoded.width > 0 && decoded.height > 0)
    }

    @Test func aProgressiveJPEGWithMoreScansThanTheLimitIsRefusedAtTheLimit() throws {
        let bytes = try Fixtures.hostileBytes("jpeg-progressive-1000-scans.jpg")
        let clock = ContinuousClock()
        let start = clock.now
        #expect(throws: ImageError.tooManyScans(limit: 500)) { try ImageDecoder().decode(bytes) }
        #expect(throws: ImageError.tooManyScans(limit: 10)) { try ImageDecoder(scanLimit: 10).decode(bytes) }
        #expect(clock.now - start < .seconds(5))
        // The same file decodes when the limit allows its scans: the limit, not the data, refused it.
        #expect(try ImageDecoder(scanLimit: 1000).decode(bytes).width == 45)
    }

    @Test func anOrdinaryProgressiveJPEGIsWellUnderTheScanLimit() throws {
        let bytes = try Fixtures.bytes("images/jpeg-progressive-500x375.jpg")
        #expect(try ImageDecoder(scanLimit: 20).decode(bytes).width == 500)
    }

    @Test(arguments: ["images/jpeg-progressive-500x375.jpg", "images/jpeg-baseline-640x480.jpg"])
    func aJPEGDecodeStopsAtItsDeadline(file: String) throws {
        let bytes = try Fixtures.bytes(file)
        #expect(throws: ImageError.deadlinePassed(.jpeg)) { try ImageDecoder().decode(bytes, seconds: 0) }
        #expect(try ImageDecoder().decode(bytes, seconds: 60).width > 0)
    }

    @Test func aPNGDecodeStopsAtItsDeadline() throws {
        let image = Fixtures.syntheticImage(width: 64, height: 48, seed: 5)
        let bytes = try PNGEncoder.encode(image)
        #expect(throws: ImageError.deadlinePassed(.png)) { try ImageDecoder().decode(bytes, seconds: 0) }
        #expect(try ImageDecoder().decode(bytes, seconds: 60).image == image)
    }

    /// A PNG chunk: big-endian length, type, data, and a CRC that libpng is told to check.
    static func chunk(_ type: String, _ data: [UInt8], declaring length: UInt32? = nil, crc: Bool = true) -> [UInt8] {
        let declared = length ?? UInt32(data.count)
        let header = withUnsafeBytes(of: declared.bigEndian) { [UInt8]($0) } + Array(type.utf8)
        return header + data + (crc ? [0, 0, 0, 0] : [])
    }

    static let signatureAndHeader: [UInt8] =
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", [0, 0, 0, 6, 0, 0, 0, 3, 2, 3, 0, 0, 0])

    @Test func libpngIsGivenTheDataUpToTheFirstAncillaryChunkThatDeclaresMoreBytesThanRemain() {
        let start = Self.signatureAndHeader + Self.chunk("bKGD", [0])
        let cases: [(tail: [UInt8], readable: Int)] = [
            // The Tools/fuzz finding: an sPLT header declaring 1.3 GB, no room even for its CRC.
            (Self.chunk("sPLT", [1, 2, 3], declaring: 1_314_095_209, crc: false), start.count),
            (Self.chunk("tEXt", Array(repeating: 65, count: 20), declaring: 1_900_000_000), start.count),
            (Self.chunk("tEXt", Array("Title\0cat".utf8)) + Self.chunk("IEND", []), start.count + 33),
            // IDAT is streamed, not allocated from its declared length: a long one is left to run dry.
            (Self.chunk("IDAT", [1, 2, 3], declaring: 0x7FFF_FFFF), start.count + 15),
            // Fewer than 8 bytes after the last whole chunk: libpng runs dry reading the next header.
            ([0, 0, 0], start.count + 3),
        ]
        for (tail, readable) in cases {
            let bytes = start + tail
            #expect(bytes.withUnsafeBufferPointer { ofa_png_readable_size($0.baseAddress, $0.count) } == readable)
            #expect(throws: ImageError.self) { try ImageDecoder().decode(bytes) }
        }
    }
}

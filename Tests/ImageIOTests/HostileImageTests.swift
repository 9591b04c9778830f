// Crafted images (Tests/Fixtures/hostile, issue 12): each is a typed error within bounded work, never a crash.
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
}

// ImageDecoder against Pillow 13 (Image.open -> ImageOps.exif_transpose -> convert('RGB')) on the committed files.
import FixtureSupport
import Foundation
import ImageIO
import Testing

private struct DecodeCase: CustomStringConvertible, Sendable {
    let file: String
    let width: Int
    let height: Int
    let sha256: String
    let raw: String?
    var description: String { file }
}

private let manifest = try! Fixtures.json("images/manifest.json")

private let decodeCases: [DecodeCase] = (manifest["cases"] as! [[String: Any]]).map {
    DecodeCase(
        file: $0["file"] as! String, width: $0["width"] as! Int, height: $0["height"] as! Int,
        sha256: $0["decoded_sha256"] as! String, raw: $0["decoded_raw"] as? String)
}

private func decodeFixture(_ file: String, pixelLimit: Int = ImageDecoder.defaultPixelLimit) throws -> DecodedImage {
    try ImageDecoder(pixelLimit: pixelLimit).decode(Fixtures.bytes("images/" + file))
}

@Suite("Image decoding matches Pillow")
struct ImageDecoderTests {
    @Test("every JPEG and PNG layout decodes to exactly Pillow's upright RGB pixels", arguments: decodeCases)
    fileprivate func decodesLikePillow(_ c: DecodeCase) throws {
        let decoded = try decodeFixture(c.file)
        #expect(decoded.width == c.width && decoded.height == c.height)
        if let raw = c.raw {
            let expected = try Fixtures.bytes("images/" + raw)
            let diff = Fixtures.difference(decoded.image.pixels, expected)
            #expect(diff.count == 0, "\(c.file): \(diff.count) bytes differ, by up to \(diff.maximum)")
        }
        #expect(sha256Hex(decoded.image.pixels) == c.sha256, "\(c.file)")
    }

    @Test("EXIF orientations 5 to 8 swap width and height, 1 to 4 keep them")
    func orientationSwapsSides() throws {
        for value in 1...8 {
            let decoded = try decodeFixture("jpeg-exif-orientation-\(value).jpg")
            #expect(decoded.orientation.value == value)
            #expect((decoded.width, decoded.height) == (value >= 5 ? (24, 40) : (40, 24)))
        }
    }

    @Test("an XMP tiff:Orientation is honoured when the file has no EXIF orientation")
    func xmpOrientation() throws {
        #expect(try decodeFixture("jpeg-xmp-orientation-6.jpg").orientation.value == 6)
    }

    @Test("a PNG eXIf chunk after the image data still orients the image")
    func pngExifAfterImageData() throws {
        #expect(try decodeFixture("png-exif-after-idat-8-40x24.png").orientation.value == 8)
    }

    @Test("the format is recognised from the signature")
    func formats() throws {
        #expect(try decodeFixture("jpeg-baseline-640x480.jpg").format == .jpeg)
        #expect(try decodeFixture("png-rgb-123x45.png").format == .png)
    }
}

private struct ErrorCase: CustomStringConvertible, Sendable {
    let file: String
    let error: String
    var description: String { "\(file) → \(error)" }
}

private let errorCases: [ErrorCase] = (manifest["errors"] as! [[String: Any]]).map {
    ErrorCase(file: $0["file"] as! String, error: $0["error"] as! String)
}

private func kind(of error: ImageError) -> String {
    switch error {
    case .empty: return "empty"
    case .unsupportedFormat: return "unsupportedFormat"
    case .truncated: return "truncated"
    case .corrupt: return "corrupt"
    case .unsupportedLayout: return "unsupportedLayout"
    case .zeroSize: return "zeroSize"
    case .tooManyPixels: return "tooManyPixels"
    case .outOfMemory: return "outOfMemory"
    case .tooManyScans: return "tooManyScans"
    case .deadlinePassed: return "deadlinePassed"
    case .encodingFailed: return "encodingFailed"
    }
}

@Suite("Bad input is a typed error, never a crash")
struct ImageErrorTests {
    @Test("each bad file that Pillow rejects is reported with the error that names its problem", arguments: errorCases)
    fileprivate func rejected(_ c: ErrorCase) {
        do {
            _ = try decodeFixture(c.file)
            Issue.record("\(c.file) decoded")
        } catch let error as ImageError {
            #expect(kind(of: error) == c.error, "\(c.file): \(error)")
        } catch {
            Issue.record("\(c.file): unexpected \(error)")
        }
    }

    @Test("a truncated JPEG is reported as truncated, not a crash, wherever Pillow rejects the cut")
    func truncatedJPEGCuts() throws {
        let cuts = manifest["jpeg_cuts"] as! [String: Any]
        let whole = try Fixtures.bytes("images/" + (cuts["file"] as! String))
        for cut in cuts["cuts"] as! [[String: Any]] {
            let length = cut["length"] as! Int
            let result = Result { try ImageDecoder().decode(Array(whole.prefix(length))) }
            if cut["pillow_decodes"] as! Bool {
                #expect(throws: Never.self, "cut at \(length)") { try result.get() }
            } else {
                #expect(throws: ImageError.truncated(.jpeg), "cut at \(length)") { try result.get() }
            }
        }
    }

    @Test("every prefix of a PNG and a progressive JPEG fails cleanly with a typed error")
    func everyPrefixFailsCleanly() throws {
        for file in ["png-rgb-123x45.png", "jpeg-progressive-gray-45x33.jpg"] {
            let whole = try Fixtures.bytes("images/" + file)
            for length in stride(from: 0, to: whole.count - 12, by: 7) {
                #expect(throws: ImageError.self, "\(file) cut at \(length)") {
                    try ImageDecoder().decode(Array(whole.prefix(length)))
                }
            }
        }
    }

    @Test("a 20-byte-header PNG declaring 100000×100000 is refused by its declared size before any allocation")
    func hugeDeclaredPNG() {
        #expect(throws: ImageError.tooManyPixels(width: 100000, height: 100000, limit: ImageDecoder.defaultPixelLimit))
        {
            try decodeFixture("png-huge-100000x100000.png")
        }
    }

    @Test("the pixel limit is configurable and checked against the declared dimensions")
    func configurableLimit() throws {
        #expect(throws: ImageError.tooManyPixels(width: 640, height: 480, limit: 640 * 480 - 1)) {
            try decodeFixture("jpeg-baseline-640x480.jpg", pixelLimit: 640 * 480 - 1)
        }
        #expect(try decodeFixture("jpeg-baseline-640x480.jpg", pixelLimit: 640 * 480).width == 640)
    }
}

@Suite("PNG encoding")
struct PNGEncoderTests {
    @Test("an encoded PNG decodes back to the same pixels")
    func roundTrip() throws {
        let image = Fixtures.syntheticImage(width: 37, height: 11, seed: 3)
        let decoded = try ImageDecoder().decode(PNGEncoder.encode(image))
        #expect(decoded.image == image)
    }
}

// ImagePreprocessor against the reference: load_image -> Resize((N, N), BICUBIC) -> ToTensor -> Normalize(0.5, 0.5).
import FixtureSupport
import Foundation
import ImageIO
import Testing

@testable import OFAPreprocessing

private struct PreprocessCase: CustomStringConvertible, Sendable {
    let file: String
    let width: Int, height: Int, size: Int
    let sha256: String
    let raw: String?
    var description: String { "\(file) → \(size)" }
}

private let manifest = try! Fixtures.json("images/manifest.json")

private let preprocessCases: [PreprocessCase] = (manifest["cases"] as! [[String: Any]]).flatMap { c in
    (c["resized"] as! [[String: Any]]).map {
        PreprocessCase(
            file: c["file"] as! String, width: c["width"] as! Int, height: c["height"] as! Int,
            size: $0["size"] as! Int, sha256: $0["sha256"] as! String, raw: $0["raw"] as? String)
    }
}

/// The uint8 image behind a normalised tensor (mean = std = 0.5 maps v to v/127.5 - 1 exactly per level).
private func levels(of prepared: PreparedImage, preprocessor: ImagePreprocessor) -> [UInt8] {
    let plane = prepared.size * prepared.size
    var table: [[Float: UInt8]] = [[:], [:], [:]]
    for c in 0..<3 {
        for v in 0..<256 {
            let level: Float = (Float(v) / 255 - preprocessor.mean[c]) / preprocessor.std[c]
            table[c][level] = UInt8(v)
        }
    }
    var hwc = [UInt8](repeating: 0, count: 3 * plane)
    for c in 0..<3 {
        for i in 0..<plane { hwc[3 * i + c] = table[c][prepared.pixels[c * plane + i]] ?? 0 }
    }
    return hwc
}

@Suite("Image preprocessing matches modelscope's")
struct ImagePreprocessorTests {
    @Test(
        "decode, orient, resize and normalise give Pillow's resized pixels for every fixture",
        arguments: preprocessCases)
    fileprivate func matchesReference(_ c: PreprocessCase) throws {
        let preprocessor = ImagePreprocessor(size: c.size)
        let prepared = try preprocessor(imageBytes: Fixtures.bytes("images/" + c.file))
        #expect(prepared.pixels.count == 3 * c.size * c.size)
        #expect((prepared.originalWidth, prepared.originalHeight) == (c.width, c.height))
        let resized = levels(of: prepared, preprocessor: preprocessor)
        if let raw = c.raw {
            let diff = Fixtures.difference(resized, try Fixtures.bytes("images/" + raw))
            #expect(diff.count == 0, "\(c): \(diff.count) bytes differ, by up to \(diff.maximum)")
        } else {
            #expect(sha256Hex(resized) == c.sha256, "\(c)")
        }
    }

    @Test("the float tensor equals torchvision's ToTensor + Normalize bit for bit")
    func tensorBits() throws {
        let tensor = manifest["tensor"] as! [String: Any]
        let size = tensor["size"] as! Int
        let prepared = try ImagePreprocessor(size: size)(
            imageBytes: Fixtures.bytes("images/" + (tensor["source"] as! String)))
        let expected = try Fixtures.bytes("images/" + (tensor["file"] as! String))
        let got = prepared.pixels.flatMap { value -> [UInt8] in
            withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
        }
        #expect(got == expected)
    }

    @Test("an image already N×N is not resampled")
    func identity() {
        let image = Fixtures.syntheticImage(width: 24, height: 24, seed: 9)
        let prepared = ImagePreprocessor(size: 24)(image: image)
        #expect(prepared.pixels[1] == (Float(image.pixels[3]) / 255 - 0.5) / 0.5)
        #expect(BicubicResampler().resize(image, width: 24, height: 24) == image)
    }

    @Test("mean and std are applied per channel in float32 as (v/255 - mean) / std")
    func normalisation() {
        let image = RGBImage(width: 1, height: 1, pixels: [0, 128, 255])
        let mean: [Float] = [0.485, 0.456, 0.406]
        let std: [Float] = [0.229, 0.224, 0.225]
        let prepared = ImagePreprocessor(size: 1, mean: mean, std: std)(image: image)
        #expect(
            prepared.pixels == [
                (0 / 255 - mean[0]) / std[0], (128 / 255 - mean[1]) / std[1], (255 / 255 - mean[2]) / std[2],
            ])
    }

    @Test("a decoding failure comes back as the decoder's typed error")
    func errorsPassThrough() {
        #expect(throws: ImageError.empty) { try ImagePreprocessor()(imageBytes: []) }
    }
}

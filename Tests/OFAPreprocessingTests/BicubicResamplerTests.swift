// BicubicResampler against Pillow's BICUBIC resize (Pillow 13 order) and the Pillow < 13 order (numpy reference).
import FixtureSupport
import ImageIO
import Testing

@testable import OFAPreprocessing

private struct ResizeCase: CustomStringConvertible, Sendable {
    let width: Int, height: Int, size: Int, seed: Int
    let inputSHA: String
    let expected: [ResizePassOrder: (sha: String, raw: String?)]
    var description: String { "\(width)×\(height) → \(size)" }
}

private let resizeCases: [ResizeCase] = (try! Fixtures.json("resize/manifest.json")["cases"] as! [[String: Any]]).map {
    ResizeCase(
        width: $0["width"] as! Int, height: $0["height"] as! Int, size: $0["size"] as! Int, seed: $0["seed"] as! Int,
        inputSHA: $0["input_sha256"] as! String,
        expected: [
            .pillow13: ($0["pillow13_sha256"] as! String, $0["pillow13_raw"] as? String),
            .horizontalFirst: ($0["horizontal_first_sha256"] as! String, $0["horizontal_first_raw"] as? String),
        ])
}

@Suite("Pillow BICUBIC resize, bit for bit")
struct BicubicResamplerTests {
    @Test("the synthetic inputs are byte-identical to the script's")
    func syntheticInputs() {
        for c in resizeCases where c.width * c.height <= 1_000_000 {
            let image = Fixtures.syntheticImage(width: c.width, height: c.height, seed: c.seed)
            #expect(sha256Hex(image.pixels) == c.inputSHA, "\(c)")
        }
    }

    @Test(
        "up, down, mixed, extreme-aspect and identity resizes equal Pillow in both pass orders", arguments: resizeCases)
    fileprivate func matchesPillow(_ c: ResizeCase) throws {
        let image = Fixtures.syntheticImage(width: c.width, height: c.height, seed: c.seed)
        for order in ResizePassOrder.allCases {
            let out = BicubicResampler(passOrder: order).resize(image, width: c.size, height: c.size)
            let (sha, raw) = c.expected[order]!
            if let raw {
                let diff = Fixtures.difference(out.pixels, try Fixtures.bytes("resize/" + raw))
                #expect(diff.count == 0, "\(c) \(order): \(diff.count) bytes differ, by up to \(diff.maximum)")
            } else {
                #expect(sha256Hex(out.pixels) == sha, "\(c) \(order)")
            }
        }
    }

    @Test("the default pass order is the one of the Pillow that made the goldens")
    func defaultOrder() throws {
        let order = try Fixtures.json("resize/manifest.json")["pillow_order"] as! String
        #expect(ResizePassOrder.referenceDefault.rawValue == order)
    }

    @Test("coefficients are Pillow's: each row's fixed-point weights sum to 2^22 within rounding")
    func coefficientRows() {
        for (inSize, outSize) in [(4000, 480), (480, 4000), (7, 480), (481, 480)] {
            let c = ResampleCoefficients(inSize: inSize, outSize: outSize)
            for o in 0..<outSize {
                let sum = (0..<c.count[o]).reduce(0) { $0 + Int(c.weights[o * c.kernelSize + $1]) }
                #expect(abs(sum - (1 << 22)) <= c.count[o], "\(inSize)→\(outSize) row \(o)")
                #expect(c.first[o] >= 0 && c.first[o] + c.count[o] <= inSize)
            }
        }
    }
}

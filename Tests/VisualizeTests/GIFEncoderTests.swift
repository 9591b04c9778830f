import FixtureSupport
import ImageIO
// Animated GIF output, checked by walking its blocks and decoding its LZW data with GIFStructure.
import OFA
import XCTest

@testable import Visualize

final class GIFEncoderTests: XCTestCase {
    func frames(_ count: Int, width: Int = 40, height: Int = 30) -> [RGBImage] {
        (0..<count).map { k in
            var image = RGBImage.filled(width: width, height: height, with: RGB(UInt8(20 * k), 90, 200))
            image.fill(x: k * 3, y: 5, width: 10, height: 10, color: .white)
            return image
        }
    }

    func testFramesDelaysSizeAndLoopCountAreWrittenAsRequested() throws {
        let parsed = try GIFStructure(try GIFEncoder.encode(frames(5), delayCentiseconds: 12, loop: .forever))
        XCTAssertEqual(parsed.version, "GIF89a")
        XCTAssertEqual(parsed.width, 40)
        XCTAssertEqual(parsed.height, 30)
        XCTAssertEqual(parsed.frames.count, 5)
        XCTAssertEqual(parsed.frames.map(\.delay), Array(repeating: 12, count: 5))
        XCTAssertEqual(parsed.loopCount, 0)
        XCTAssertTrue(parsed.trailerSeen)
        XCTAssertTrue(parsed.frames.allSatisfy { $0.width == 40 && $0.height == 30 && $0.localColors == nil })
    }

    func testALoopCountIsWrittenAndPlayingOnceOmitsTheNetscapeBlock() throws {
        XCTAssertEqual(
            try GIFStructure(try GIFEncoder.encode(frames(2), delayCentiseconds: 5, loop: .count(3)))
                .loopCount, 3)
        XCTAssertNil(try GIFStructure(try GIFEncoder.encode(frames(2), delayCentiseconds: 5, loop: .once)).loopCount)
    }

    func testFewColoursRoundTripExactlyThroughThePalette() throws {
        let input = frames(3)
        let parsed = try GIFStructure(try GIFEncoder.encode(input, delayCentiseconds: 10, loop: .forever))
        for (frame, original) in zip(parsed.frames, input) {
            XCTAssertEqual(frame.pixels.count, 40 * 30)
            var rgb: [UInt8] = []
            for index in frame.pixels { rgb += parsed.globalColors[(Int(index) * 3)..<(Int(index) * 3 + 3)] }
            XCTAssertEqual(rgb, original.pixels)
        }
    }

    func testManyColoursAreQuantisedToAtMost256WithSmallError() throws {
        let image = RGBImage(
            width: 64, height: 64, pixels: (0..<(64 * 64 * 3)).map { UInt8(truncatingIfNeeded: $0 * 7 / 3) })
        let parsed = try GIFStructure(try GIFEncoder.encode([image], delayCentiseconds: 10, loop: .once))
        XCTAssertLessThanOrEqual(parsed.globalColors.count, 256 * 3)
        var worst = 0
        for (i, index) in parsed.frames[0].pixels.enumerated() {
            for c in 0..<3 {
                worst = max(worst, abs(Int(parsed.globalColors[Int(index) * 3 + c]) - Int(image.pixels[i * 3 + c])))
            }
        }
        XCTAssertLessThan(worst, 48)
    }

    func testBadInputIsRejectedByName() {
        XCTAssertThrowsError(try GIFEncoder.encode([], delayCentiseconds: 10, loop: .forever)) {
            XCTAssertEqual($0 as? GIFError, .noFrames)
        }
        XCTAssertThrowsError(
            try GIFEncoder.encode(
                frames(1) + frames(1, width: 41), delayCentiseconds: 10,
                loop: .forever)
        ) {
            XCTAssertEqual($0 as? GIFError, .frameSizeMismatch(index: 1, width: 41, height: 30))
        }
        XCTAssertThrowsError(try GIFEncoder.encode(frames(1), delayCentiseconds: 10, loop: .count(0))) {
            XCTAssertEqual($0 as? GIFError, .badLoopCount(0))
        }
    }

    func testFrameDelaysRoundToCentiseconds() {
        XCTAssertEqual(AnimationOptions(frameDelayMilliseconds: 125).delayCentiseconds, 13)
        XCTAssertEqual(AnimationOptions(frameDelayMilliseconds: 0).delayCentiseconds, 1)
    }
}

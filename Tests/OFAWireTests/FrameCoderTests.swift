// Framing: big-endian length prefix, incremental decoding, limits, and a bounded fuzz of the decoder.
import OFAWire
import XCTest

final class FrameCoderTests: XCTestCase {
    func testTheHeaderIsAFourByteBigEndianLength() {
        XCTAssertEqual(FrameCoder.header(length: 0x0102_0304), [1, 2, 3, 4])
        XCTAssertEqual(FrameCoder.encode(Array("{}".utf8)), [0, 0, 0, 2, 0x7b, 0x7d])
    }

    func testFramesArrivingByteByByteAreReassembled() throws {
        let bodies = [Array("{\"a\":1}".utf8), [], Array(repeating: 0x20, count: 300)]
        let stream = bodies.flatMap(FrameCoder.encode)
        var decoder = FrameDecoder(maximumLength: 1000)
        var decoded: [[UInt8]] = []
        for byte in stream {
            decoder.append([byte])
            while let frame = try decoder.nextFrame() { decoded.append(frame) }
        }
        XCTAssertEqual(decoded, bodies)
        XCTAssertNoThrow(try decoder.finish())
    }

    func testAFrameLongerThanTheLimitIsRejectedFromItsHeaderAlone() {
        var decoder = FrameDecoder(maximumLength: 10)
        decoder.append(FrameCoder.header(length: 11))
        XCTAssertThrowsError(try decoder.nextFrame()) {
            XCTAssertEqual($0 as? FrameError, .frameTooLarge(length: 11, limit: 10))
        }
        var huge = FrameDecoder(maximumLength: 10)
        huge.append([0xff, 0xff, 0xff, 0xff])
        XCTAssertThrowsError(try huge.nextFrame()) {
            XCTAssertEqual($0 as? FrameError, .frameTooLarge(length: 0xffff_ffff, limit: 10))
        }
    }

    func testEndingInsideAFrameIsReportedAsTruncated() throws {
        var decoder = FrameDecoder()
        decoder.append(FrameCoder.header(length: 5) + [1, 2])
        XCTAssertNil(try decoder.nextFrame())
        XCTAssertThrowsError(try decoder.finish()) {
            XCTAssertEqual($0 as? FrameError, .truncated(expected: 9, received: 6))
        }
        var headerOnly = FrameDecoder()
        headerOnly.append([0, 0])
        XCTAssertThrowsError(try headerOnly.finish()) {
            XCTAssertEqual($0 as? FrameError, .truncated(expected: 4, received: 2))
        }
    }

    /// Random frames cut at random points decode to exactly the frames sent (bounded: 300 streams).
    func testRandomFramesSplitAnywhereRoundTrip() throws {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<300 {
            let bodies = (0..<Int.random(in: 0...6, using: &generator)).map { _ in
                (0..<Int.random(in: 0...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator)
                }
            }
            let stream = bodies.flatMap(FrameCoder.encode)
            var decoder = FrameDecoder(maximumLength: 200)
            var decoded: [[UInt8]] = []
            var offset = 0
            while offset < stream.count {
                let step = Int.random(in: 1...64, using: &generator)
                decoder.append(stream[offset..<min(offset + step, stream.count)])
                offset += step
                while let frame = try decoder.nextFrame() { decoded.append(frame) }
            }
            XCTAssertEqual(decoded, bodies)
        }
    }

    /// Arbitrary bytes never crash the decoder: each stream ends in frames, a refusal, or a truncation.
    func testArbitraryBytesNeverCrashTheDecoder() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator) % (Bool.random(using: &generator) ? 4 : 255)
            }
            var decoder = FrameDecoder(maximumLength: 32)
            decoder.append(bytes)
            do {
                while try decoder.nextFrame() != nil {}
                try decoder.finish()
            } catch is FrameError {
            } catch {
                XCTFail("unexpected error \(error)")
            }
        }
    }
}

/// A small seeded generator, so fuzz runs are repeatable.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

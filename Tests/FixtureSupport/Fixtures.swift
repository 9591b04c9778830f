// Access to Tests/Fixtures/preprocessing (made by Tools/fixtures/make_preprocessing_fixtures.py) for the tests.
import Crypto
import Foundation
import ImageIO

public enum Fixtures {
    public static let preprocessing = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/preprocessing")

    public static func url(_ path: String) -> URL { preprocessing.appendingPathComponent(path) }

    /// Tests/Fixtures/hostile: crafted files that once crashed or stalled ofad (Tools/fixtures/make_hostile_fixtures.py).
    public static let hostile = preprocessing.deletingLastPathComponent().appendingPathComponent("hostile")

    public static func hostileBytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: hostile.appendingPathComponent(name)))
    }

    public static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(path))) }

    public static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(path))) as! [String: Any]
    }

    /// The script's synthetic image: byte i = top byte of a 32-bit integer hash of (i + seed · 1000003).
    public static func syntheticImage(width: Int, height: Int, seed: Int) -> RGBImage {
        let count = width * height * 3
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            for i in 0..<count {
                var u = UInt32(truncatingIfNeeded: i &+ seed &* 1_000_003)
                u = u &* 2_654_435_761
                u ^= u >> 15
                u = u &* 2_246_822_519
                u ^= u >> 13
                out[i] = UInt8(u >> 24)
            }
            initialized = count
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Largest absolute difference and how many bytes differ.
    public static func difference(_ a: [UInt8], _ b: [UInt8]) -> (maximum: Int, count: Int) {
        guard a.count == b.count else { return (Int.max, max(a.count, b.count)) }
        var maximum = 0
        var count = 0
        for i in 0..<a.count where a[i] != b[i] {
            maximum = max(maximum, abs(Int(a[i]) - Int(b[i])))
            count += 1
        }
        return (maximum, count)
    }
}

/// SHA-256 in hex (swift-crypto), for comparing large outputs against hashed goldens.
public func sha256Hex(_ message: [UInt8]) -> String {
    SHA256.hash(data: message).map { String(format: "%02x", $0) }.joined()
}

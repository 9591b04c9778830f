// SHA-256 in hex, from swift-crypto, for image-cache keys and the model checksum.
import Crypto

extension SHA256 {
    /// The lower-case hex SHA-256 of `bytes`.
    public static func hexDigest(of bytes: [UInt8]) -> String { hash(data: bytes).hexString }
}

extension SHA256.Digest {
    /// Lower-case hex, two digits a byte.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(SHA256.byteCount * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

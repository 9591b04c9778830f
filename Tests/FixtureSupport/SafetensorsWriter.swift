// Writes the safetensors format (8-byte header length, JSON header padded to 8 bytes, raw little-endian data),
// as safetensors' save_file does with metadata {"format": "pt"}.
import Foundation

public enum SafetensorsWriter {
    public enum Element {
        case float32([Float])
        case int64([Int])
    }

    /// The file's bytes; tensors in name order.
    public static func file(_ tensors: [String: (shape: [Int], values: Element)]) -> [UInt8] {
        var entries: [String] = [#""__metadata__":{"format":"pt"}"#]
        var data: [UInt8] = []
        for name in tensors.keys.sorted() {
            let (shape, values) = tensors[name]!
            let start = data.count
            let dtype: String
            switch values {
            case .float32(let floats):
                dtype = "F32"
                data += floats.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) }
            case .int64(let integers):
                dtype = "I64"
                data += integers.map { Int64($0).littleEndian }.withUnsafeBytes { Array($0) }
            }
            let dimensions = shape.map(String.init).joined(separator: ",")
            entries.append(
                #""\#(name)":{"dtype":"\#(dtype)","shape":[\#(dimensions)],"data_offsets":[\#(start),\#(data.count)]}"#)
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes += $0 }
        return bytes + header + data
    }
}

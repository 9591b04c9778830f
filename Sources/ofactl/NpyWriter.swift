// Writes float32 arrays as NumPy .npy files (format version 1.0, little-endian, C order).
import Foundation
import OFAWire

enum NpyWriter {
    static func encode(_ array: FloatArray) -> [UInt8] {
        let shape =
            array.shape.count == 1
            ? "(\(array.shape[0]),)" : "(\(array.shape.map(String.init).joined(separator: ", ")))"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let length = header.utf8.count
        bytes += [UInt8(length & 0xff), UInt8(length >> 8)]
        bytes += Array(header.utf8)
        bytes.reserveCapacity(bytes.count + array.values.count * 4)
        for value in array.values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    static func write(_ array: FloatArray, to path: String) throws {
        try Data(encode(array)).write(to: URL(fileURLWithPath: path))
    }
}

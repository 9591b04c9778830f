// Float arrays as NumPy .npy files (format 1.0): little-endian float32 ('<f4'), C order, any shape. The one .npy
// codec: ofad's render output, Visualize's maps and the files ofactl writes.
//
// Layout: "\x93NUMPY", version 1.0, a little-endian u16 header length, then the header — the dict
// "{'descr': '<f4', 'fortran_order': False, 'shape': (r, c), }" followed by numpy's spare spaces and padding so the
// data starts at a multiple of 64, ending in "\n" — then r·c·… float32 values. The writer emits exactly the bytes
// numpy 2.x's np.save does; the reader accepts versions 1–3 but only '<f4' C-order data.
import Foundation

public struct NPYArray: Sendable, Equatable {
    public let shape: [Int]
    public let values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape does not match the value count")
        self.shape = shape
        self.values = values
    }

    /// A float array from the wire, as it is.
    public init(_ array: FloatArray) { self.init(shape: array.shape, values: array.values) }
}

public enum NPYError: Error, Equatable, Sendable, CustomStringConvertible {
    case notNPY
    case unsupportedVersion(major: UInt8, minor: UInt8)
    case truncated(expected: Int, actual: Int)
    case badHeader(String)
    /// Only little-endian float32 is read; `descr` is what the file holds.
    case unsupportedType(descr: String)
    case fortranOrder

    public var description: String {
        switch self {
        case .notNPY: return "not a .npy file (bad magic)"
        case .unsupportedVersion(let major, let minor): return "unsupported .npy version \(major).\(minor)"
        case .truncated(let expected, let actual): return ".npy data is truncated: \(actual) of \(expected) bytes"
        case .badHeader(let header): return "unreadable .npy header: \(header)"
        case .unsupportedType(let descr): return ".npy dtype \(descr) is not '<f4' (little-endian float32)"
        case .fortranOrder: return ".npy arrays in Fortran order are not read"
        }
    }
}

public enum NPYFile {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    static let alignment = 64

    public static func encode(_ array: NPYArray) -> [UInt8] {
        let shape: String
        switch array.shape.count {
        case 0: shape = "()"
        case 1: shape = "(\(array.shape[0]),)"
        default: shape = "(" + array.shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        // numpy's spare room for growing the first axis in place.
        if let first = array.shape.first { header += String(repeating: " ", count: 21 - String(first).count) }
        let used = magic.count + 2 + 2 + header.utf8.count + 1
        header += String(repeating: " ", count: alignment - used % alignment) + "\n"
        let length = header.utf8.count
        var bytes = magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8)
        bytes.reserveCapacity(bytes.count + array.values.count * 4)
        for value in array.values {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes += $0 }
        }
        return bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> NPYArray {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw NPYError.notNPY }
        let major = bytes[6]
        let minor = bytes[7]
        let lengthSize: Int
        switch major {
        case 1: lengthSize = 2
        case 2, 3: lengthSize = 4
        default: throw NPYError.unsupportedVersion(major: major, minor: minor)
        }
        guard bytes.count >= 8 + lengthSize else {
            throw NPYError.truncated(expected: 8 + lengthSize, actual: bytes.count)
        }
        var headerLength = 0
        for k in (0..<lengthSize).reversed() { headerLength = headerLength << 8 | Int(bytes[8 + k]) }
        let dataStart = 8 + lengthSize + headerLength
        guard bytes.count >= dataStart else { throw NPYError.truncated(expected: dataStart, actual: bytes.count) }
        guard let header = String(bytes: bytes[(8 + lengthSize)..<dataStart], encoding: .utf8) else {
            throw NPYError.badHeader("not UTF-8")
        }
        let fields = try parse(header)
        guard fields.descr == "<f4" else { throw NPYError.unsupportedType(descr: fields.descr) }
        guard !fields.fortranOrder else { throw NPYError.fortranOrder }
        // A hostile shape cannot overflow; values are allocated only once the bytes are known to hold them.
        guard let count = fields.shape.checkedProduct(limit: (Int.max - dataStart) / 4) else {
            throw NPYError.badHeader("shape \(fields.shape) has more values than can be addressed")
        }
        guard bytes.count >= dataStart + count * 4 else {
            throw NPYError.truncated(expected: dataStart + count * 4, actual: bytes.count)
        }
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let o = dataStart + i * 4
            let bits =
                UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
            values[i] = Float(bitPattern: bits)
        }
        return NPYArray(shape: fields.shape, values: values)
    }

    /// Reads the three keys of numpy's header dict (a Python literal; only the forms np.save writes).
    static func parse(_ header: String) throws -> (descr: String, fortranOrder: Bool, shape: [Int]) {
        func value(_ key: String) throws -> Substring {
            guard let range = header.range(of: "'\(key)':") else { throw NPYError.badHeader(header) }
            return header[range.upperBound...].drop { $0 == " " }
        }
        let descrText = try value("descr")
        guard descrText.first == "'", let end = descrText.dropFirst().firstIndex(of: "'") else {
            throw NPYError.badHeader(header)
        }
        let descr = String(descrText[descrText.index(after: descrText.startIndex)..<end])
        let fortran = try value("fortran_order")
        guard fortran.hasPrefix("True") || fortran.hasPrefix("False") else { throw NPYError.badHeader(header) }
        let shapeText = try value("shape")
        guard shapeText.first == "(", let close = shapeText.firstIndex(of: ")") else {
            throw NPYError.badHeader(header)
        }
        var shape: [Int] = []
        for part in shapeText[shapeText.index(after: shapeText.startIndex)..<close].split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let dimension = Int(trimmed), dimension >= 0 else { throw NPYError.badHeader(header) }
            shape.append(dimension)
        }
        return (descr, fortran.hasPrefix("True"), shape)
    }
}

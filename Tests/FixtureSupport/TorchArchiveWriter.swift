// Writes PyTorch's zip checkpoint format as torch.save does (protocol-2 pickle in data.pkl, one stored entry per
// storage, 64-byte aligned), for checkpoints the tests derive from the committed ones.
import Foundation

/// A value to pickle: the few kinds a state dict or a fairseq checkpoint holds.
public indirect enum PickleItem {
    case none
    case bool(Bool)
    case integer(Int)
    case float(Double)
    case string(String)
    case tuple([PickleItem])
    case list([PickleItem])
    case dictionary([(String, PickleItem)])
    /// `collections.OrderedDict`, as torch.save writes a state dict.
    case orderedDictionary([(String, PickleItem)])
    /// `argparse.Namespace(**fields)`, as fairseq keeps its `args`.
    case namespace([(String, PickleItem)])
    /// `torch._utils._rebuild_tensor_v2` of a contiguous view into one of the archive's storages.
    case tensor(storage: String, offset: Int, shape: [Int])
}

/// Element types of archive storages.
public enum StorageType: String {
    case float32 = "FloatStorage"
    case float16 = "HalfStorage"
    case int64 = "LongStorage"

    var byteCount: Int {
        switch self {
        case .float32: return 4
        case .float16: return 2
        case .int64: return 8
        }
    }
}

public struct TorchArchiveWriter {
    public enum WriteError: Error, Equatable {
        case notHalfExact(storage: String, index: Int, value: Float)
        case unknownStorage(String)
    }

    private var storages: [(key: String, type: StorageType, bytes: [UInt8])] = []

    public init() {}

    /// Adds a storage; tensors refer to it by the returned key ("0", "1", … in order of addition).
    public mutating func addStorage(floats: [Float], as type: StorageType) throws -> String {
        let key = String(storages.count)
        let bytes: [UInt8]
        switch type {
        case .float32:
            bytes = floats.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) }
        case .float16:
            let halves = floats.map(Float16.init)
            if let index = floats.indices.first(where: { Float(halves[$0]) != floats[$0] && !floats[$0].isNaN }) {
                throw WriteError.notHalfExact(storage: key, index: index, value: floats[index])
            }
            bytes = halves.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) }
        case .int64:
            preconditionFailure("use addStorage(integers:)")
        }
        storages.append((key, type, bytes))
        return key
    }

    public mutating func addStorage(integers: [Int]) -> String {
        let key = String(storages.count)
        let bytes = integers.map { Int64($0).littleEndian }.withUnsafeBytes { Array($0) }
        storages.append((key, .int64, bytes))
        return key
    }

    /// The archive with `root` pickled as data.pkl, under the folder `name` (torch.save uses the file's stem).
    public func archive(_ root: PickleItem, name: String = "archive") throws -> [UInt8] {
        var pickle = PickleWriter(
            storages: Dictionary(
                uniqueKeysWithValues: storages.map {
                    ($0.key, (type: $0.type, count: $0.bytes.count / $0.type.byteCount))
                }))
        try pickle.write(root)
        var zip = StoredZipWriter(alignment: 64)
        zip.add(name + "/data.pkl", pickle.finish())
        zip.add(name + "/.format_version", Array("1".utf8))
        zip.add(name + "/.storage_alignment", Array("64".utf8))
        zip.add(name + "/byteorder", Array("little".utf8))
        for storage in storages { zip.add(name + "/data/" + storage.key, storage.bytes) }
        zip.add(name + "/version", Array("3\n".utf8))
        return zip.finish()
    }
}

/// Pickle protocol 2, the opcodes torch.save uses.
private struct PickleWriter {
    let storages: [String: (type: StorageType, count: Int)]
    private var bytes: [UInt8] = [0x80, 0x02]

    init(storages: [String: (type: StorageType, count: Int)]) { self.storages = storages }

    mutating func finish() -> [UInt8] { bytes + [0x2E] }

    private mutating func global(_ module: String, _ name: String) {
        bytes.append(0x63)
        bytes += Array("\(module)\n\(name)\n".utf8)
    }

    private mutating func pairs(_ items: [(String, PickleItem)]) throws {
        guard !items.isEmpty else { return }
        bytes.append(0x28)
        for (key, value) in items {
            try write(.string(key))
            try write(value)
        }
        bytes.append(0x75)  // SETITEMS
    }

    mutating func write(_ item: PickleItem) throws {
        switch item {
        case .none: bytes.append(0x4E)
        case .bool(let value): bytes.append(value ? 0x88 : 0x89)
        case .integer(let value):
            if (0..<256).contains(value) {
                bytes += [0x4B, UInt8(value)]
            } else if (0..<65536).contains(value) {
                bytes += [0x4D, UInt8(value & 0xFF), UInt8(value >> 8)]
            } else if let small = Int32(exactly: value) {
                bytes.append(0x4A)
                withUnsafeBytes(of: small.littleEndian) { bytes += $0 }
            } else {
                bytes += [0x8A, 8]
                withUnsafeBytes(of: Int64(value).littleEndian) { bytes += $0 }
            }
        case .float(let value):
            bytes.append(0x47)
            withUnsafeBytes(of: value.bitPattern.bigEndian) { bytes += $0 }
        case .string(let text):
            let utf8 = Array(text.utf8)
            bytes.append(0x58)
            withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes += $0 }
            bytes += utf8
        case .tuple(let items):
            if items.isEmpty {
                bytes.append(0x29)
                return
            }
            bytes.append(0x28)
            for element in items { try write(element) }
            bytes.append(0x74)
        case .list(let items):
            bytes.append(0x5D)
            guard !items.isEmpty else { return }
            bytes.append(0x28)
            for element in items { try write(element) }
            bytes.append(0x65)  // APPENDS
        case .dictionary(let items):
            bytes.append(0x7D)
            try pairs(items)
        case .orderedDictionary(let items):
            global("collections", "OrderedDict")
            bytes += [0x29, 0x52]  // () REDUCE
            try pairs(items)
        case .namespace(let fields):
            global("argparse", "Namespace")
            bytes += [0x29, 0x81, 0x7D]  // () NEWOBJ {}
            try pairs(fields)
            bytes.append(0x62)  // BUILD
        case .tensor(let key, let offset, let shape):
            guard let storage = storages[key] else { throw TorchArchiveWriter.WriteError.unknownStorage(key) }
            global("torch._utils", "_rebuild_tensor_v2")
            bytes.append(0x28)
            bytes.append(0x28)
            try write(.string("storage"))
            global("torch", storage.type.rawValue)
            try write(.string(key))
            try write(.string("cpu"))
            try write(.integer(storage.count))
            bytes += [0x74, 0x51]  // TUPLE BINPERSID
            try write(.integer(offset))
            try write(.tuple(shape.map { .integer($0) }))
            var strides: [Int] = []
            var stride = 1
            for size in shape.reversed() {
                strides.insert(stride, at: 0)
                stride *= size
            }
            try write(.tuple(strides.map { .integer($0) }))
            try write(.bool(false))
            try write(.orderedDictionary([]))  // backward hooks
            bytes += [0x74, 0x52]  // TUPLE REDUCE
        }
    }
}

/// A ZIP archive of stored (uncompressed) entries whose data start at multiples of `alignment`, as PyTorch
/// writes them (padding in the local header's extra field).
struct StoredZipWriter {
    let alignment: Int
    private var output: [UInt8] = []
    private var directory: [UInt8] = []
    private var count = 0

    init(alignment: Int) { self.alignment = alignment }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    mutating func add(_ name: String, _ data: [UInt8]) {
        let nameBytes = Array(name.utf8)
        let headerOffset = output.count
        var padding = (alignment - (headerOffset + 30 + nameBytes.count) % alignment) % alignment
        if padding > 0 && padding < 4 { padding += alignment }
        let crc = crc32(data)
        var local: [UInt8] = []
        Self.append(UInt32(0x0403_4b50), to: &local)
        Self.append(UInt16(20), to: &local)  // version needed
        Self.append(UInt16(0), to: &local)  // flags
        Self.append(UInt16(0), to: &local)  // stored
        Self.append(UInt32(0), to: &local)  // time, date
        Self.append(crc, to: &local)
        Self.append(UInt32(data.count), to: &local)
        Self.append(UInt32(data.count), to: &local)
        Self.append(UInt16(nameBytes.count), to: &local)
        Self.append(UInt16(padding), to: &local)
        local += nameBytes
        if padding > 0 {
            Self.append(UInt16(0x4246), to: &local)  // "FB", PyTorch's padding field
            Self.append(UInt16(padding - 4), to: &local)
            local += [UInt8](repeating: 0x5A, count: padding - 4)
        }
        output += local
        output += data
        Self.append(UInt32(0x0201_4b50), to: &directory)
        Self.append(UInt16(20), to: &directory)  // version made by
        Self.append(UInt16(20), to: &directory)  // version needed
        Self.append(UInt16(0), to: &directory)
        Self.append(UInt16(0), to: &directory)
        Self.append(UInt32(0), to: &directory)
        Self.append(crc, to: &directory)
        Self.append(UInt32(data.count), to: &directory)
        Self.append(UInt32(data.count), to: &directory)
        Self.append(UInt16(nameBytes.count), to: &directory)
        Self.append(UInt16(0), to: &directory)  // extra
        Self.append(UInt16(0), to: &directory)  // comment
        Self.append(UInt16(0), to: &directory)  // disk
        Self.append(UInt16(0), to: &directory)  // internal attributes
        Self.append(UInt32(0), to: &directory)  // external attributes
        Self.append(UInt32(headerOffset), to: &directory)
        directory += nameBytes
        count += 1
    }

    mutating func finish() -> [UInt8] {
        let directoryOffset = output.count
        var end: [UInt8] = []
        Self.append(UInt32(0x0605_4b50), to: &end)
        Self.append(UInt32(0), to: &end)  // disk numbers
        Self.append(UInt16(count), to: &end)
        Self.append(UInt16(count), to: &end)
        Self.append(UInt32(directory.count), to: &end)
        Self.append(UInt32(directoryOffset), to: &end)
        Self.append(UInt16(0), to: &end)  // comment
        return output + directory + end
    }
}

/// CRC-32 (ISO-HDLC, as ZIP uses).
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var table = [UInt32](repeating: 0, count: 256)
    for i in 0..<256 {
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        table[i] = c
    }
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
}

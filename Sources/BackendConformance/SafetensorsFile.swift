// A safetensors file read whole, for the device check's goldens and synthetic checkpoints: an 8-byte little-endian
// header length, a JSON header (name → dtype, shape, byte range), the data. F32 and I64 only; every size and range
// is checked.
import Foundation

public struct SafetensorsFile {
    public struct Entry: Sendable {
        public let type: String
        public let shape: [Int]
        let range: Range<Int>
    }

    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    public let entries: [String: Entry]
    private let data: Data
    private let start: Int

    public init(path: String) throws {
        data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        guard data.count >= 8 else { throw Malformed(description: "\(path): shorter than its header length") }
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard length > 0, length <= data.count - 8 else { throw Malformed(description: "\(path): bad header length") }
        start = 8 + length
        guard let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<start)) as? [String: Any] else {
            throw Malformed(description: "\(path): the header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let fields = value as? [String: Any], let type = fields["dtype"] as? String,
                let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int],
                offsets.count == 2,
                offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= data.count - start
            else { throw Malformed(description: "\(path): bad entry \(name)") }
            entries[name] = Entry(type: type, shape: shape, range: offsets[0]..<offsets[1])
        }
        self.entries = entries
    }

    /// A tensor's elements as floats (F32, or I64 converted).
    public func floats(_ name: String) throws -> [Float] {
        guard let entry = entries[name] else { throw Malformed(description: "no tensor \(name)") }
        let bytes = data.subdata(in: (start + entry.range.lowerBound)..<(start + entry.range.upperBound))
        switch entry.type {
        case "F32":
            return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        case "I64":
            return bytes.withUnsafeBytes { $0.bindMemory(to: Int64.self).map { Float($0) } }
        default:
            throw Malformed(description: "\(name): \(entry.type) is neither F32 nor I64")
        }
    }

    public func integers(_ name: String) throws -> [Int] { try floats(name).map { Int($0) } }
}

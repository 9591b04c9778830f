// Reads the safetensors format: an 8-byte little-endian header length, a JSON header, then raw tensor data.
import Foundation

enum Safetensors {
    static func read(path: String) throws -> WeightsFile {
        let reader = try FileReader(path: path)
        func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: reason) }
        guard reader.size >= 8 else { throw corrupt("shorter than a safetensors header") }
        var prefix = ByteCursor(try reader.bytes(offset: 0, count: 8))
        let declaredLength = prefix.integer(8)!
        guard declaredLength > 0, declaredLength <= 100_000_000, declaredLength <= UInt64(reader.size - 8) else {
            throw corrupt("header length \(declaredLength) does not fit the file")
        }
        let headerLength = Int(declaredLength)
        let header = try reader.bytes(offset: 8, count: headerLength)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(header))) as? [String: Any] else {
            throw corrupt("header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        var tensors: [String: StoredTensor] = [:]
        for (name, value) in object where name != "__metadata__" {
            guard let fields = value as? [String: Any], let dtype = fields["dtype"] as? String,
                let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int],
                offsets.count == 2, shape.allSatisfy({ $0 >= 0 })
            else { throw corrupt("header entry \(name) is malformed") }
            guard let type = StoredElementType(safetensors: dtype) else {
                throw CheckpointError.unsupportedType(name: name, type: dtype)
            }
            let tensor = StoredTensor(type: type, shape: shape, offset: dataStart + offsets[0])
            guard offsets[0] >= 0, offsets[1] - offsets[0] == tensor.byteCount,
                dataStart + offsets[1] <= reader.size
            else { throw corrupt("tensor \(name) lies outside the data section") }
            tensors[name] = tensor
        }
        return WeightsFile(reader: reader, tensors: tensors)
    }
}

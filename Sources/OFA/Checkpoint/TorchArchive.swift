// Reads PyTorch's zip checkpoint format (torch.save ≥ 1.6): data.pkl names each tensor's storage, shape and stride;
// storages are raw little-endian entries under data/. Also reads fairseq checkpoints ({'model': state_dict, …}).

enum TorchArchive {
    static func read(path: String) throws -> WeightsFile {
        let reader = try FileReader(path: path)
        let magic = try reader.bytes(offset: 0, count: min(reader.size, 8))
        guard magic.starts(with: [0x50, 0x4B]) else {
            if magic.starts(with: [0x80]) {
                throw CheckpointError.unsupported(
                    path: path,
                    reason: "legacy (pre-1.6, non-zip) torch.save format; "
                        + "re-save it with a current PyTorch")
            }
            throw CheckpointError.corrupt(path: path, reason: "not a PyTorch zip archive")
        }
        let archive = try ZipArchive(reader: reader)
        guard let pickleEntry = archive.entries.values.first(where: { $0.name.hasSuffix("data.pkl") }) else {
            throw CheckpointError.corrupt(path: path, reason: "no data.pkl in the archive")
        }
        let root = String(pickleEntry.name.dropLast("data.pkl".count))
        if let order = archive.entries[root + "byteorder"] {
            let text = String(decoding: try reader.bytes(offset: order.dataOffset, count: order.size), as: UTF8.self)
            guard text == "little" else {
                throw CheckpointError.unsupported(path: path, reason: "byte order \(text)")
            }
        }
        guard !pickleEntry.compressed else {
            throw CheckpointError.unsupported(path: path, reason: "compressed data.pkl")
        }
        let pickle = try reader.bytes(offset: pickleEntry.dataOffset, count: pickleEntry.size)
        let tensors: [String: StoredTensor]
        do {
            tensors = try PickleReader.parse(pickle) { value in
                let stateDictionary = value["model"] ?? value
                guard case .dictionary(let dictionary) = stateDictionary else {
                    throw CheckpointError.unsupported(path: path, reason: "top-level object is not a state dict")
                }
                var tensors: [String: StoredTensor] = [:]
                for (key, entry) in dictionary.entries {
                    guard let name = key.string else {
                        throw CheckpointError.corrupt(path: path, reason: "non-string key")
                    }
                    tensors[name] = try tensor(entry, name: name, root: root, archive: archive, path: path)
                }
                return tensors
            }
        } catch let error as PickleError {
            throw CheckpointError.corrupt(path: path, reason: "data.pkl: \(error.reason)")
        }
        return WeightsFile(reader: reader, tensors: tensors)
    }

    /// Interprets `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` (optionally wrapped in
    /// `_rebuild_parameter`).
    private static func tensor(
        _ value: PickleValue, name: String, root: String, archive: ZipArchive,
        path: String
    ) throws -> StoredTensor {
        func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: "tensor \(name): \(reason)") }
        guard case .object(let object) = value, case .global(let module, let function) = object.callable else {
            throw corrupt("not a tensor")
        }
        if module == "torch._utils", function == "_rebuild_parameter", let data = object.arguments.first {
            return try tensor(data, name: name, root: root, archive: archive, path: path)
        }
        guard module == "torch._utils", function == "_rebuild_tensor_v2" || function == "_rebuild_tensor",
            object.arguments.count >= 4, case .persistent(let identifier) = object.arguments[0],
            let storageOffset = object.arguments[1].integer,
            let sizes = object.arguments[2].elements?.compactMap(\.integer),
            let strides = object.arguments[3].elements?.compactMap(\.integer)
        else { throw corrupt("unsupported tensor reconstruction") }
        guard let fields = identifier.elements, fields.count >= 5, fields[0].string == "storage",
            case .global(_, let storageClass) = fields[1], let key = fields[2].string
        else { throw corrupt("unsupported storage identifier") }
        guard let type = StoredElementType(torchStorage: storageClass) else {
            throw CheckpointError.unsupportedType(name: name, type: storageClass)
        }
        guard sizes.count == strides.count, sizes.allSatisfy({ $0 >= 0 }), storageOffset >= 0 else {
            throw corrupt("bad size or stride")
        }
        var expected = 1
        for (size, stride) in zip(sizes, strides).reversed() {
            guard size == 1 || stride == expected else {
                throw CheckpointError.unsupported(path: path, reason: "tensor \(name) is not contiguous")
            }
            expected *= size
        }
        guard let storage = archive.entries[root + "data/" + key] else { throw corrupt("storage \(key) missing") }
        guard !storage.compressed else { throw corrupt("storage \(key) is compressed") }
        let stored = StoredTensor(type: type, shape: sizes, offset: storage.dataOffset + storageOffset * type.byteCount)
        guard (storageOffset + stored.count) * type.byteCount <= storage.size else {
            throw corrupt("extends beyond its storage")
        }
        return stored
    }
}

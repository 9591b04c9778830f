// Strict access to a checkpoint's tensors by modelscope name: shapes checked, every tensor accounted for.

final class WeightStore {
    private let file: WeightsFile
    private let backend: Backend
    /// modelscope name → name in the file.
    private let names: [String: String]
    private var used: Set<String> = []

    init(file: WeightsFile, backend: Backend) throws {
        self.file = file
        self.backend = backend
        var names: [String: String] = [:]
        for original in file.tensors.keys.sorted() {
            let name = CheckpointKeys.normalize(original)
            if let other = names[name] {
                throw CheckpointError.corrupt(
                    path: file.reader.path,
                    reason: "\(other) and \(original) both name \(name)")
            }
            names[name] = original
        }
        self.names = names
    }

    func contains(_ name: String) -> Bool { names[name] != nil }

    private func record(_ name: String, shape: [Int]) throws -> StoredTensor {
        guard let original = names[name], let stored = file.tensors[original] else {
            throw CheckpointError.missingTensor(name)
        }
        let found = stored.shape
        guard found == shape || (found.isEmpty && shape == [1]) else {
            throw CheckpointError.wrongShape(name: name, expected: shape, found: found)
        }
        guard stored.type.isFloatingPoint else {
            throw CheckpointError.unsupportedType(name: name, type: stored.type.rawValue)
        }
        used.insert(name)
        return stored
    }

    /// Reads a float tensor straight into a backend tensor (converting fp16/bf16/fp64 in small chunks).
    func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let stored = try record(name, shape: shape)
        return try backend.makeTensor(shape: shape) { try file.readFloats(stored, into: $0) }
    }

    /// Host copy, for load-time transforms such as BatchNorm folding.
    func values(_ name: String, shape: [Int]) throws -> [Float] {
        let stored = try record(name, shape: shape)
        var result = [Float](repeating: 0, count: stored.count)
        try result.withUnsafeMutableBufferPointer { try file.readFloats(stored, into: $0) }
        return result
    }

    /// The tied token embedding, read once whichever of its names the file uses; the other names count as used.
    func tiedEmbedding(shape: [Int]) throws -> Tensor {
        guard let name = CheckpointKeys.tiedEmbedding.first(where: contains) else {
            throw CheckpointError.missingTensor(CheckpointKeys.tiedEmbedding[0])
        }
        for other in CheckpointKeys.tiedEmbedding where other != name && contains(other) {
            _ = try record(other, shape: shape)
        }
        return try tensor(name, shape: shape)
    }

    /// Fails on tensors nobody asked for that are not on the ignore list.
    func finish() throws {
        let unexpected = names.keys.filter { !used.contains($0) && !CheckpointKeys.isIgnored($0) }.sorted()
        if !unexpected.isEmpty { throw CheckpointError.unexpectedTensors(unexpected) }
    }
}

/// Names relative to a module path, as layers ask for them (`scope("self_attn").tensor("q_proj.weight", …)`).
struct WeightScope {
    let store: WeightStore
    let prefix: String

    func scope(_ name: String) -> WeightScope { WeightScope(store: store, prefix: path(name)) }
    func path(_ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }
    func tensor(_ name: String, shape: [Int]) throws -> Tensor { try store.tensor(path(name), shape: shape) }
    func values(_ name: String, shape: [Int]) throws -> [Float] { try store.values(path(name), shape: shape) }
    func contains(_ name: String) -> Bool { store.contains(path(name)) }
}

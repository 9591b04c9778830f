// An OFA-large-shaped checkpoint made from a seed, where the real one cannot be carried: every float tensor of
// the key table (Tools/device/ofa-large-keys.tsv, modelscope's names and shapes; the integer buffers are left out,
// as the loader recomputes them) filled with deterministic values of a sane scale, written as model.safetensors
// beside the model directory's small files. The same seed gives the same bytes on every machine, so figures the
// CPU engine computed here check a GPU run there.
import Foundation

public enum SyntheticCheckpoint {
    /// A line of the key table that is not `name <TAB> shape <TAB> dtype`.
    public struct KeyTableError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Writes `directory`/model.safetensors from the key table and copies `templates` (config.json,
    /// configuration.json, answer2label.json, vocab.json, merges.txt) beside it.
    public static func write(
        keys tablePath: String, templates: [String], seed: UInt64, into directory: String
    ) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for template in templates {
            let target = directory + "/" + URL(fileURLWithPath: template).lastPathComponent
            try? manager.removeItem(atPath: target)
            try manager.copyItem(atPath: template, toPath: target)
        }
        let tensors = try floatTensors(table: String(contentsOfFile: tablePath, encoding: .utf8))
        var header: [String: Any] = ["__metadata__": ["format": "pt", "synthetic_seed": "\(seed)"]]
        var offset = 0
        for (name, shape) in tensors {
            let bytes = shape.reduce(1, *) * 4
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        let path = directory + "/model.safetensors"
        manager.createFile(atPath: path, contents: nil)
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? file.close() }
        var length = UInt64(json.count).littleEndian
        try file.write(contentsOf: Data(bytes: &length, count: 8))
        try file.write(contentsOf: json)
        for (index, (name, shape)) in tensors.enumerated() {
            let values = self.values(name: name, shape: shape, seed: seed &+ UInt64(index) &* 0x9E37_79B9)
            try values.withUnsafeBytes { try file.write(contentsOf: Data($0)) }
        }
    }

    /// The table's float tensors in its order: (name, shape).
    static func floatTensors(table: String) throws -> [(String, [Int])] {
        var result: [(String, [Int])] = []
        for line in table.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 3 else { throw KeyTableError(description: "key table line: \(line)") }
            guard fields[2] == "f32" else { continue }
            var shape: [Int] = []
            if !["scalar", "()", ""].contains(fields[1]) {
                for part in fields[1].split(separator: "x") {
                    guard let size = Int(part), size > 0 else {
                        throw KeyTableError(description: "key table shape: \(line)")
                    }
                    shape.append(size)
                }
            }
            result.append((fields[0], shape))
        }
        return result
    }

    /// Uniform values with the scale of an initialised network: convolutions He-scaled, matrices 1/√fan-in,
    /// normalisation gains in [0.5, 1] (the ResNet's last BatchNorm of each block in [0, 0.25], so 50 residual
    /// blocks stay bounded), running variances in [0.8, 1.2], means and biases small.
    static func values(name: String, shape: [Int], seed: UInt64) -> [Float] {
        let count = shape.reduce(1, *)
        let (low, high): (Float, Float)
        if name.hasSuffix("running_var") {
            (low, high) = (0.8, 1.2)
        } else if name.hasSuffix("running_mean") {
            (low, high) = (-0.1, 0.1)
        } else if shape.count == 4 {
            let bound = (3 * 2 / Float(shape[1] * shape[2] * shape[3])).squareRoot()
            (low, high) = (-bound, bound)
        } else if shape.count == 2 {
            let bound = (3 / Float(shape[1])).squareRoot()
            (low, high) = (-bound, bound)
        } else if name.hasSuffix("bias") {
            (low, high) = (-0.05, 0.05)
        } else if name.contains("embed_images") && name.hasSuffix(".bn3.weight") {
            (low, high) = (0, 0.25)
        } else {
            (low, high) = (0.5, 1)
        }
        var result = [Float](repeating: 0, count: count)
        result.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<count {
                var z = (UInt64(i) &+ seed) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 31)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 29
                buffer[i] = low + (high - low) * (Float(z >> 40) / Float(1 << 24))
            }
        }
        return result
    }
}

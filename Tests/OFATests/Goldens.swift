// Test access to the fixtures: model directories (committed, or derived from tiny-a at test time) and reference
// goldens made by Tools/fixtures/make_engine_fixtures.py.
import FixtureSupport
import Foundation
import XCTest

@testable import OFA

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// tiny-a, tiny-b, or tiny-a's derived copies tiny-a-safetensors and tiny-a-fairseq.
    static func model(_ name: String) throws -> String { try ModelFixtures.directory(name) }
    static func goldens(_ name: String) throws -> Goldens { try Goldens(name: name) }
}

/// One model's goldens: a safetensors file of `<case>.<tensor>` entries plus a JSON description.
struct Goldens {
    let file: WeightsFile
    let description: [String: Any]

    init(name: String) throws {
        let base = Fixtures.root.appendingPathComponent("goldens/\(name)")
        file = try Safetensors.read(path: base.appendingPathExtension("safetensors").path)
        let json = try Data(contentsOf: base.appendingPathExtension("json"))
        description = try JSONSerialization.jsonObject(with: json) as! [String: Any]
    }

    var cases: [[String: Any]] { description["cases"] as? [[String: Any]] ?? [] }

    func has(_ name: String) -> Bool { file.tensors[name] != nil }

    func shape(_ name: String) throws -> [Int] {
        guard let stored = file.tensors[name] else { throw CheckpointError.missingTensor(name) }
        return stored.shape
    }

    func floats(_ name: String) throws -> [Float] {
        guard let stored = file.tensors[name], stored.type == .float32 else {
            throw CheckpointError.missingTensor(name)
        }
        var values = [Float](repeating: 0, count: stored.count)
        try values.withUnsafeMutableBytes {
            try file.reader.read(into: $0.baseAddress!, offset: stored.offset, count: stored.byteCount)
        }
        return values
    }

    func integers(_ name: String) throws -> [Int] {
        guard let stored = file.tensors[name], stored.type == .int64 else { throw CheckpointError.missingTensor(name) }
        var values = [Int64](repeating: 0, count: stored.count)
        try values.withUnsafeMutableBytes {
            try file.reader.read(into: $0.baseAddress!, offset: stored.offset, count: stored.byteCount)
        }
        return values.map(Int.init)
    }
}

/// Largest absolute difference, failing the test when shapes differ.
func maximumDifference(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(a.count, b.count, "element counts differ", file: file, line: line)
    var worst: Float = 0
    for (x, y) in zip(a, b) {
        let difference = abs(x - y)
        if difference.isNaN || difference > worst { worst = difference.isNaN ? .infinity : difference }
    }
    return worst
}

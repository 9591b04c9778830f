// Test access to Tests/Fixtures/visualize (made by Tools/fixtures/make_visualize_fixtures.py) and to the engine
// goldens' attention arrays.
import Foundation
import OFA
import XCTest

@testable import Visualize

enum VisualizeFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(path))) as! [String: Any]
    }

    /// maps.safetensors, read once.
    static let maps: [String: TensorValues] = try! TensorFile.read(path: url("visualize/maps.safetensors").path)
    static let description: [String: Any] = try! json("visualize/maps.json")
    static var entries: [[String: Any]] { description["entries"] as! [[String: Any]] }

    static func entries(kind: String) -> [[String: Any]] { entries.filter { $0["kind"] as? String == kind } }

    private static var goldenCache: [String: [String: TensorValues]] = [:]

    /// `<case>.attention.<kind>.<layer>` of an engine golden as the engine's AttentionProbabilities.
    static func attention(model: String, case name: String, kind: String, layer: Int) throws
        -> AttentionProbabilities
    {
        if goldenCache[model] == nil {
            goldenCache[model] = try TensorFile.read(path: url("goldens/\(model).safetensors").path)
        }
        let tensor = goldenCache[model]!["\(name).attention.\(kind).\(layer)"]!
        return try AttentionProbabilities(
            kind: AttentionRequest.Kind(rawValue: kind)!, layer: layer, shape: tensor.shape, values: tensor.floats)
    }

    static func attention(_ entry: [String: Any], kind: String, layers: [Int]) throws -> [AttentionProbabilities] {
        try layers.map {
            try attention(model: entry["model"] as! String, case: entry["case"] as! String, kind: kind, layer: $0)
        }
    }

    static func encoderLayerCount(_ entry: [String: Any]) -> Int {
        entry["model"] as! String == "tiny-a" ? 2 : 3
    }

    static func grid(_ entry: [String: Any]) -> PatchGrid {
        PatchGrid(rows: entry["rows"] as! Int, columns: entry["cols"] as! Int)
    }

    static func heads(_ entry: [String: Any]) -> HeadFusion { HeadFusion(entry["heads"] as! String)! }

    /// A stored grid as a Heatmap.
    static func heatmap(_ name: String) throws -> Heatmap {
        let tensor = maps[name]!
        return try Heatmap(
            grid: PatchGrid(rows: tensor.shape[0], columns: tensor.shape[1]), values: tensor.floats,
            method: MapMethod(name: name))
    }
}

/// Largest absolute difference; fails if the sizes differ.
func maxDifference(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(a.count, b.count, "sizes differ", file: file, line: line)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

// Attention rollout against the numpy reference (Abnar & Zuidema with vit-explain's fusion and discard).
import OFA
import XCTest

@testable import Visualize

final class AttentionRolloutTests: XCTestCase {
    func rollout(_ entry: [String: Any]) throws -> AttentionRollout {
        let encoder = try VisualizeFixtures.attention(
            entry, kind: "encoder", layers: Array(0..<VisualizeFixtures.encoderLayerCount(entry)))
        return try AttentionRollout(
            encoder: encoder, fusion: HeadFusion(entry["fusion"] as! String)!,
            discardRatio: entry["discard"] as! Double)
    }

    func testTheRolloutMatrixMatchesTheReferenceWithAndWithoutDiscarding() throws {
        let entries = VisualizeFixtures.entries(kind: "rollout_matrix")
        XCTAssertEqual(entries.count, 4)
        for entry in entries {
            let matrix = try rollout(entry).matrix().map(Float.init)
            XCTAssertLessThan(maxDifference(matrix, VisualizeFixtures.maps[entry["name"] as! String]!.floats), 1e-6)
        }
    }

    func testRolloutFromTheAnswersCrossAttentionMatchesTheReferenceForEveryFusionAndDiscardRatio() throws {
        let entries = VisualizeFixtures.entries(kind: "rollout_cross")
        XCTAssertEqual(entries.count, 4 * 7)
        for entry in entries {
            let cross = try VisualizeFixtures.attention(entry, kind: "cross", layers: entry["cross_layers"] as! [Int])
            let map = try Heatmap.rollout(
                rollout(entry), cross: cross, grid: VisualizeFixtures.grid(entry),
                heads: VisualizeFixtures.heads(entry), row: entry["row"] as! Int,
                renormalize: entry["renormalize"] as! Bool)
            XCTAssertLessThan(
                maxDifference(map.values, VisualizeFixtures.maps[entry["name"] as! String]!.floats), 1e-6,
                entry["name"] as! String)
        }
    }

    func testRolloutFromTextTokensMatchesTheReference() throws {
        for entry in VisualizeFixtures.entries(kind: "rollout_tokens") {
            let map = try Heatmap.rollout(
                rollout(entry), tokens: .mean(entry["tokens"] as! [Int]),
                grid: VisualizeFixtures.grid(entry))
            XCTAssertLessThan(maxDifference(map.values, VisualizeFixtures.maps[entry["name"] as! String]!.floats), 1e-6)
        }
    }

    func testEveryRowOfTheRolloutSumsToOne() throws {
        let encoder = try (0..<3).map {
            try VisualizeFixtures.attention(model: "tiny-b", case: "hypothesis", kind: "encoder", layer: $0)
        }
        let matrix = try AttentionRollout(encoder: encoder, fusion: .max, discardRatio: 0.5).matrix()
        for row in 0..<62 {
            XCTAssertEqual(matrix[(row * 62)..<(row * 62 + 62)].reduce(0, +), 1, accuracy: 1e-6)
        }
    }

    func testDiscardingZeroesTheSmallestEntriesLowerIndexFirstOnTies() {
        var values: [Double] = [3, 1, 2, 1, 0, 1]
        AttentionRollout.discardSmallest(&values, ratio: 0.5)
        XCTAssertEqual(values, [3, 0, 2, 0, 0, 1])
    }

    func testSelectionFindsEveryRankAsSortingWouldIncludingTies() {
        var generator = SystemRandomNumberGenerator()
        for count in [1, 2, 7, 100] {
            let values = (0..<count).map { _ in Double(Int.random(in: 0..<10, using: &generator)) }
            let sorted = values.sorted()
            for rank in 0..<count {
                var copy = values
                XCTAssertEqual(AttentionRollout.select(&copy, rank: rank), sorted[rank])
            }
        }
    }

    func testADiscardRatioOutsideZeroToOneIsAnError() throws {
        let layer = try VisualizeFixtures.attention(model: "tiny-a", case: "hypothesis", kind: "encoder", layer: 0)
        XCTAssertThrowsError(try AttentionRollout(encoder: [layer], discardRatio: 1)) {
            XCTAssertEqual($0 as? MapError, .discardRatioOutOfRange(1))
        }
        XCTAssertThrowsError(try AttentionRollout(encoder: [])) { XCTAssertEqual($0 as? MapError, .noLayers) }
    }
}

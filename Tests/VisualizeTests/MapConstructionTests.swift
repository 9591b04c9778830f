// Cross-attention and text-to-image maps against the numpy reference on the engine goldens' attention.
import OFA
import XCTest

@testable import Visualize

final class CrossAttentionMapTests: XCTestCase {
    func testCrossAttentionMapsMatchTheNumpyReferencePerLayerHeadFusionAndRenormalisation() throws {
        let entries = VisualizeFixtures.entries(kind: "cross")
        XCTAssertGreaterThan(entries.count, 30)
        for entry in entries {
            let layers = try VisualizeFixtures.attention(entry, kind: "cross", layers: entry["layers"] as! [Int])
            let grid = VisualizeFixtures.grid(entry)
            let renormalize = entry["renormalize"] as! Bool
            let row = entry["row"] as! Int
            let map =
                layers.count == 1
                ? try Heatmap.crossAttention(
                    layers[0], grid: grid, heads: VisualizeFixtures.heads(entry), row: row,
                    renormalize: renormalize)
                : try Heatmap.crossAttention(
                    layers: layers, grid: grid, heads: VisualizeFixtures.heads(entry),
                    row: row, renormalize: renormalize)
            let expected = VisualizeFixtures.maps[entry["name"] as! String]!.floats
            XCTAssertLessThan(maxDifference(map.values, expected), 1e-6, entry["name"] as! String)
        }
    }

    func testARenormalisedMapSumsToOneAndARawOneToLessThanOne() throws {
        let cross = try VisualizeFixtures.attention(model: "tiny-a", case: "hypothesis", kind: "cross", layer: 1)
        let grid = PatchGrid(rows: 4, columns: 4)
        let raw = try Heatmap.crossAttention(cross, grid: grid)
        let renormalized = try Heatmap.crossAttention(cross, grid: grid, renormalize: true)
        XCTAssertLessThan(raw.values.reduce(0, +), 1)
        XCTAssertEqual(renormalized.values.reduce(0, +), 1, accuracy: 1e-5)
    }

    func testTheMethodNamesLayerHeadsRowAndRenormalisation() throws {
        let cross = try VisualizeFixtures.attention(model: "tiny-a", case: "hypothesis", kind: "cross", layer: 1)
        let map = try Heatmap.crossAttention(
            cross, grid: PatchGrid(rows: 4, columns: 4), heads: .max,
            renormalize: true)
        XCTAssertEqual(map.method.description, "cross_attention(heads=max, layer=1, renormalized=true, row=-1)")
        XCTAssertEqual(map.method.shortLabel, "cross L1 max")
    }

    func testAHeadOrRowOutOfRangeIsAnErrorNamingIt() throws {
        let cross = try VisualizeFixtures.attention(model: "tiny-a", case: "hypothesis", kind: "cross", layer: 0)
        let grid = PatchGrid(rows: 4, columns: 4)
        XCTAssertThrowsError(try Heatmap.crossAttention(cross, grid: grid, heads: .head(4))) {
            XCTAssertEqual($0 as? AttentionShapeError, .headNotRecorded(4, recorded: [0, 1, 2, 3]))
        }
        XCTAssertThrowsError(try Heatmap.crossAttention(cross, grid: grid, row: 20)) {
            XCTAssertEqual($0 as? AttentionShapeError, .rowOutOfRange(20, rows: 20))
        }
        XCTAssertThrowsError(try Heatmap.crossAttention(cross, grid: PatchGrid(rows: 7, columns: 7))) {
            XCTAssertEqual($0 as? MapError, .keysMismatch(expected: 50, actual: 37))
        }
    }

    func testAnEngineRecordingOfOnlyTheLastRowGivesTheSameMap() throws {
        let full = try VisualizeFixtures.attention(model: "tiny-b", case: "premise", kind: "cross", layer: 1)
        var lastRows: [Float] = []
        let (heads, queries, keys) = (full.heads.count, full.rows.count, full.keys)
        for head in 0..<heads {
            let start = (head * queries + queries - 1) * keys
            lastRows += full.values[start..<(start + keys)]
        }
        let recorded = try AttentionProbabilities(
            kind: .cross, layer: 1, shape: [heads, 1, keys], values: lastRows, rows: [queries - 1])
        let grid = PatchGrid(rows: 6, columns: 6)
        XCTAssertEqual(
            try Heatmap.crossAttention(recorded, grid: grid).values,
            try Heatmap.crossAttention(full, grid: grid).values)
    }
}

final class TextToImageMapTests: XCTestCase {
    func testTextToImageMapsMatchTheNumpyReferenceForOneTokenAndTheMeanOverTokens() throws {
        let entries = VisualizeFixtures.entries(kind: "text_to_image")
        XCTAssertGreaterThan(entries.count, 8)
        for entry in entries {
            let layer = try VisualizeFixtures.attention(entry, kind: "encoder", layers: [entry["layer"] as! Int])[0]
            let tokens = entry["tokens"] as! [Int]
            let selection: TokenSelection = entry["single"] as! Bool ? .token(tokens[0]) : .mean(tokens)
            let map = try Heatmap.textToImage(
                layer, grid: VisualizeFixtures.grid(entry), tokens: selection,
                heads: VisualizeFixtures.heads(entry),
                renormalize: entry["renormalize"] as! Bool)
            let expected = VisualizeFixtures.maps[entry["name"] as! String]!.floats
            XCTAssertLessThan(maxDifference(map.values, expected), 1e-6, entry["name"] as! String)
        }
    }

    func testAnEngineRecordingOfOnlyTheTokensRowsGivesTheSameMap() throws {
        let full = try VisualizeFixtures.attention(model: "tiny-a", case: "hypothesis", kind: "encoder", layer: 1)
        let grid = PatchGrid(rows: 4, columns: 4)
        let rows = [grid.count + 5, grid.count + 2, grid.count + 3]
        var kept: [Float] = []
        let (heads, queries, keys) = (full.heads.count, full.rows.count, full.keys)
        for head in 0..<heads {
            for row in rows {
                let start = (head * queries + row) * keys
                kept += full.values[start..<(start + keys)]
            }
        }
        let recorded = try AttentionProbabilities(
            kind: .encoder, layer: 1, shape: [heads, rows.count, keys], values: kept, rows: rows)
        for tokens in [TokenSelection.token(5), .mean([2, 3, 5])] {
            for heads in [HeadFusion.mean, .max, .head(1)] {
                XCTAssertEqual(
                    try Heatmap.textToImage(recorded, grid: grid, tokens: tokens, heads: heads).values,
                    try Heatmap.textToImage(full, grid: grid, tokens: tokens, heads: heads).values, "\(tokens)")
            }
        }
        XCTAssertThrowsError(try Heatmap.textToImage(recorded, grid: grid, tokens: .token(4))) {
            XCTAssertEqual($0 as? MapError, .rowOutOfRange(grid.count + 4, queries: 3))
        }
    }

    func testATokenOutsideTheTextIsAnError() throws {
        let layer = try VisualizeFixtures.attention(model: "tiny-a", case: "hypothesis", kind: "encoder", layer: 0)
        XCTAssertThrowsError(try Heatmap.textToImage(layer, grid: PatchGrid(rows: 4, columns: 4), tokens: .token(21))) {
            XCTAssertEqual($0 as? MapError, .tokenOutOfRange(21, tokens: 21))
        }
        XCTAssertThrowsError(try Heatmap.textToImage(layer, grid: PatchGrid(rows: 4, columns: 4), tokens: .mean([]))) {
            XCTAssertEqual($0 as? MapError, .noTokens)
        }
    }
}

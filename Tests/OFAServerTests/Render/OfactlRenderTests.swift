// ofactl heatmap, grid, animate and stats end to end against a daemon on tiny-a over a temporary socket.
import FixtureSupport
import Foundation
import ImageIO
import OFAWire
import XCTest

final class OfactlRenderTests: XCTestCase {
    var server: TestDaemon!
    var imagePath: String!
    var environment: [String: String] { ["OFAD_SOCKET": server.socketPath] }

    override func setUpWithError() throws {
        server = try TestDaemon.tinyModel()
        imagePath = server.directory + "/birds.jpg"
        FileManager.default.createFile(atPath: imagePath, contents: Data(TinyModel.image("photo-200x150.jpg")))
    }

    override func tearDown() { server = nil }

    func testHeatmapWithNoOptionsWritesStemHeatmapPNGAndSaysHowItWasMade() throws {
        let ofactl = try executable("ofactl")
        let run = try runProcess(
            ofactl, ["heatmap", imagePath, "two birds on a branch"], environment: environment,
            currentDirectory: server.directory)
        XCTAssertEqual(run.status, 0, run.stderr)
        let written = server.directory + "/birds-heatmap.png"
        let png = try ImageDecoder().decode(Array(try Data(contentsOf: URL(fileURLWithPath: written))))
        XCTAssertEqual([png.width, png.height], [200, 150])
        let lines = run.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, run.stdout)
        XCTAssertTrue(lines[0].hasSuffix("two birds on a branch"), lines[0])
        XCTAssertEqual(lines[1], "png 200×150, layers [1] → birds-heatmap.png")
        XCTAssertTrue(
            lines[2].hasPrefix("method: cross_attention(heads=mean, layer=1, renormalized=true, row=-1)"), lines[2])
    }

    func testGridAnimateAndNpyWriteTheirFilesWithTheOptionsGiven() throws {
        let ofactl = try executable("ofactl")
        let dir = server.directory
        let grid = try runProcess(
            ofactl, ["grid", imagePath, "two birds", "--layers", "all", "--colormap", "inferno", "-o", dir + "/g.png"],
            environment: environment)
        XCTAssertEqual(grid.status, 0, grid.stderr)
        XCTAssertNoThrow(try ImageDecoder().decode(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/g.png")))))
        let animate = try runProcess(
            ofactl,
            [
                "animate", imagePath, "two birds", "--frame-delay", "250", "--loop", "2", "--source", "encoder",
                "--max-side", "64", "-o", dir + "/a.gif",
            ],
            environment: environment)
        XCTAssertEqual(animate.status, 0, animate.stderr)
        let gif = try GIFStructure(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/a.gif"))))
        XCTAssertEqual(gif.frames.map(\.delay), [25, 25])
        XCTAssertEqual(gif.loopCount, 2)
        XCTAssertEqual(gif.width, 64)
        let npy = try runProcess(
            ofactl, ["heatmap", imagePath, "two birds", "--layers", "-1", "--heads", "2", "-o", dir + "/m.npy"],
            environment: environment)
        XCTAssertEqual(npy.status, 0, npy.stderr)
        XCTAssertTrue(npy.stdout.contains("npy 4×4, 1 layers, layers [1]"), npy.stdout)
    }

    func testStatsPrintsATableOrJSONAndBadOptionsAreRefusedNamingThem() throws {
        let ofactl = try executable("ofactl")
        let table = try runProcess(ofactl, ["stats", imagePath, "two birds"], environment: environment)
        XCTAssertEqual(table.status, 0, table.stderr)
        let lines = table.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[1].hasPrefix("method: cross_attention("), lines[1])
        XCTAssertTrue(lines[3].hasPrefix("layer  mean"), lines[3])
        XCTAssertEqual(lines.count, 6, "prediction, method, image, header and one row per decoder layer")
        let json = try runProcess(
            ofactl, ["stats", "--json", imagePath, "two birds", "--top-k", "2"], environment: environment)
        let result = try JSONValue(parsing: Array(json.stdout.utf8)).decode(StatsResult.self)
        XCTAssertEqual(result.statistics.map { $0.topK.count }, [2, 2])

        let bad = try runProcess(
            ofactl, ["heatmap", imagePath, "two birds", "--colormap", "plasma", "-o", server.directory + "/x.png"],
            environment: environment)
        XCTAssertEqual(bad.status, 64, "refused before sending, by the same contract the daemon checks")
        XCTAssertTrue(bad.stderr.contains("--colormap \"plasma\" is not one of jet, viridis"), bad.stderr)
        let outOfRange = try runProcess(
            ofactl, ["heatmap", imagePath, "two birds", "--layers", "5", "-o", server.directory + "/x.png"],
            environment: environment)
        XCTAssertEqual(outOfRange.status, 1, "the model's layer count is the daemon's to check")
        XCTAssertTrue(outOfRange.stderr.contains("\"layers\" 5 is out of range: the decoder has 2"), outOfRange.stderr)
        let usage = try runProcess(ofactl, ["grid", imagePath, "x", "--layers", "1,two"], environment: environment)
        XCTAssertEqual(usage.status, 64, usage.stderr)
    }

    func testRelevanceHeatmapsTheRelevanceCommandAndTheFaithfulnessTable() throws {
        let ofactl = try executable("ofactl")
        let heatmap = try runProcess(
            ofactl,
            ["heatmap", imagePath, "two birds", "--source", "relevance", "--target", "yes-no", "-o", "r.png"],
            environment: environment, currentDirectory: server.directory)
        XCTAssertEqual(heatmap.status, 0, heatmap.stderr)
        XCTAssertTrue(heatmap.stdout.contains("method: relevance(rules=chefer2021, target=yes-no)"), heatmap.stdout)
        XCTAssertNoThrow(
            try ImageDecoder().decode(
                Array(try Data(contentsOf: URL(fileURLWithPath: server.directory + "/r.png")))))

        let relevance = try runProcess(
            ofactl, ["relevance", imagePath, "two birds", "--target", "yes", "--target", "no-maybe"],
            environment: environment)
        XCTAssertEqual(relevance.status, 0, relevance.stderr)
        XCTAssertTrue(relevance.stdout.contains("target yes (value "), relevance.stdout)
        XCTAssertTrue(relevance.stdout.contains("target no-maybe (value "), relevance.stdout)
        XCTAssertTrue(relevance.stdout.contains("birds "), relevance.stdout)

        let faithfulness = try runProcess(
            ofactl, ["faithfulness", imagePath, "two birds", "--steps", "fast"], environment: environment)
        XCTAssertEqual(faithfulness.status, 0, faithfulness.stderr)
        let lines = faithfulness.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[1].hasPrefix("map: relevance("), lines[1])
        XCTAssertEqual(lines[3], "removed  positive  negative")
        XCTAssertEqual(lines.count, 9, "prediction, map, title, header, 4 steps, areas")
        XCTAssertTrue(lines[8].hasPrefix("area "), lines[8])

        let bad = try runProcess(
            ofactl, ["heatmap", imagePath, "two birds", "--source", "relevance", "--window", "2"],
            environment: environment)
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("--window applies to source \"occlusion\" only"), bad.stderr)
    }
}

// Relevance, occlusion and faithfulness through the daemon (tiny-a, random weights, a temporary socket): the maps
// equal the engine's own, the relevance method names every token, bad parameters are refused naming them (−32602),
// and the daemon stays healthy throughout (the time budget of many-pass work: Tests/OFAExplanationTests).
import FixtureSupport
import Foundation
import OFA
import OFAPipeline
import OFAPreprocessing
import OFAWire
import XCTest

@testable import OFAServer

final class AnswerMapTests: XCTestCase {
    private let image = TinyModel.image("photo-200x150.jpg")
    private let hypothesis = "two birds on a branch"
    private var server: TestDaemon!

    override func setUpWithError() throws { server = try TestDaemon.tinyModel() }
    override func tearDown() { server = nil }

    private func params(_ extra: [String: JSONValue] = [:]) -> JSONValue {
        var members: [String: JSONValue] = [
            "image": ["data": .string(Data(image).base64EncodedString())], "hypothesis": .string(hypothesis),
        ]
        members.merge(extra) { _, new in new }
        return .object(members)
    }

    /// The pipeline's own prepared image and text, to compare with.
    private func reference() throws -> (VisualEntailmentPipeline, PreparedImageFeatures, PreparedText) {
        let pipeline = try TinyModel.reference.get()
        return (pipeline, try pipeline.prepare(imageBytes: image), try pipeline.prepareText(hypothesis: hypothesis))
    }

    private func refused(_ method: String, _ extra: [String: JSONValue], naming key: String, line: UInt = #line) {
        XCTAssertThrowsError(try server.client().call(method, params: params(extra)), line: line) { error in
            let rpc = error as? RPCError
            XCTAssertEqual(rpc?.code, RPCErrorCode.invalidParams, "\(error)", line: line)
            XCTAssertTrue(rpc?.message.contains("\"\(key)\"") ?? false, "\(error)", line: line)
        }
    }

    func testARelevanceNpyIsTheEnginesRelevanceMapAndStatsCarryTheTokens() throws {
        let npy = try server.client().call(
            Method.render, params: params(["source": "relevance", "target": "yes-no", "output": "npy"])
        ).decode(RenderResult.self)
        XCTAssertEqual(npy.method.name, "relevance")
        XCTAssertEqual(npy.method.parameters["target"], "yes-no")
        let array = try NPYFile.decode(npy.data.bytes)
        let (pipeline, prepared, text) = try reference()
        let yes = try XCTUnwrap(pipeline.model.task.answers.firstIndex(of: "yes"))
        let no = try XCTUnwrap(pipeline.model.task.answers.firstIndex(of: "no"))
        let expected = try pipeline.relevance(
            image: prepared, text: text, targets: [RelevanceTarget(answer: yes, contrast: no)],
            includingPredicted: false)
        XCTAssertEqual(array.shape, [1, 4, 4])
        XCTAssertEqual(array.values, expected.relevances[0].image)

        let stats = try server.client().call(Method.stats, params: params(["source": "relevance"]))
            .decode(StatsResult.self)
        let tokens = try XCTUnwrap(stats.tokens)
        XCTAssertEqual(tokens.count, text.sourceIDs.count)
        XCTAssertEqual(tokens.filter(\.hypothesis).map(\.index), Array(text.hypothesisTokens))
        XCTAssertEqual(stats.statistics.count, 1)
    }

    func testTheRelevanceMethodGivesEachTargetItsPatchesAndNamedTokens() throws {
        let result = try server.client().call(
            Method.relevance, params: params(["targets": ["predicted", "maybe", "yes-no"]])
        ).decode(RelevanceMethodResult.self)
        XCTAssertEqual(result.targets.count, result.prediction.answer == "maybe" ? 2 : 3)
        XCTAssertEqual(result.targets[0].target, result.prediction.answer)
        XCTAssertEqual(result.targets.last?.target, "yes-no")
        for target in result.targets {
            XCTAssertEqual(target.image.count, 16)
            XCTAssertEqual(target.patchGrid, PatchGridSize(rows: 4, cols: 4))
            XCTAssertEqual(target.sourceTokens.first?.text, "<s>")
            XCTAssertTrue(target.sourceTokens.contains { $0.hypothesis && $0.text.contains("birds") })
            XCTAssertEqual(target.decoderTokens.count, target.sourceTokens.count - 1)
        }
    }

    func testOcclusionAndTheFaithfulnessTestMatchTheEngine() throws {
        let stats = try server.client().call(
            Method.stats,
            params: params([
                "source": "occlusion", "window": 2, "stride": 2, "target": "yes", "faithfulness": "fast",
                "smoothing": 0,
            ])
        ).decode(StatsResult.self)
        XCTAssertEqual(stats.method.name, "occlusion")
        let (pipeline, prepared, text) = try reference()
        let yes = try XCTUnwrap(pipeline.model.task.answers.firstIndex(of: "yes"))
        let occlusion = try pipeline.occlusion(
            image: prepared, text: text, target: RelevanceTarget(answer: yes),
            settings: OcclusionSettings(window: 2, stride: 2))
        XCTAssertEqual(occlusion.windows.count, 4)
        let report = try XCTUnwrap(stats.faithfulness)
        XCTAssertEqual(report.target, "yes")
        XCTAssertEqual(report.positive.fractions, Faithfulness.fastFractions)
        XCTAssertEqual(report.positive.removed, [0, 8, 14, 16])
        XCTAssertEqual(report.positive.probabilities[0], report.negative.probabilities[0])
        XCTAssertEqual(report.positive.probabilities.last, report.negative.probabilities.last, "all removed")
        XCTAssertEqual(stats.prediction.probabilities["yes"], occlusion.unmasked.probabilities[yes])
    }

    func testBadTargetsWindowsAndMisplacedOptionsAreRefusedNamingThemAndTheDaemonStaysHealthy() throws {
        refused(Method.render, ["source": "relevance", "target": "perhaps"], naming: "target")
        refused(Method.render, ["source": "occlusion", "window": 5], naming: "window")
        refused(Method.render, ["source": "occlusion", "window": 0], naming: "window")
        refused(Method.render, ["source": "cross", "window": 2], naming: "window")
        refused(Method.render, ["source": "cross", "target": "yes"], naming: "target")
        refused(Method.render, ["source": "relevance", "layers": [0]], naming: "layers")
        refused(Method.stats, ["faithfulness": "sometimes"], naming: "faithfulness")
        refused(Method.relevance, ["targets": ["yes", "no-no"]], naming: "target")
        XCTAssertEqual(try server.health().state, .ready)
        // A target with faithfulness on an attention source is fine: it names the answer the curves follow.
        let stats = try server.client().call(
            Method.stats, params: params(["target": "no", "faithfulness": "fast"])
        ).decode(StatsResult.self)
        XCTAssertEqual(stats.faithfulness?.target, "no")
    }
}

final class ProgressBoardTests: XCTestCase {
    func testEachRunningWorkShowsItsPassesUntilItEnds() {
        let board = ProgressBoard()
        let first = board.reporter(method: "stats")
        let second = board.reporter(method: "render")
        first("occlusion 3/3 on 30×30", 1, 101)
        second("the fast faithfulness test", 2, 7)
        first("occlusion 3/3 on 30×30", 40, 101)
        XCTAssertEqual(board.snapshot.map(\.method), ["stats", "render"])
        XCTAssertEqual(board.snapshot.map(\.done), [40, 2])
        XCTAssertEqual(board.snapshot.first?.total, 101)
        first(nil, 0, 0)
        XCTAssertEqual(board.snapshot.map(\.work), ["the fast faithfulness test"])
        second(nil, 0, 0)
        XCTAssertTrue(board.snapshot.isEmpty)
    }
}

extension AnswerMapTests {
    func testOcclusionStatsNameEachHypothesisTokensDropAndStatusShowsNoWorkLeftAfter() throws {
        let stats = try server.client().call(
            Method.stats, params: params(["source": "occlusion", "window": 2, "target": "yes"])
        ).decode(StatsResult.self)
        let tokens = try XCTUnwrap(stats.tokens)
        let (pipeline, prepared, text) = try reference()
        let yes = try XCTUnwrap(pipeline.model.task.answers.firstIndex(of: "yes"))
        let expected = try pipeline.textOcclusion(
            image: prepared, text: text, target: RelevanceTarget(answer: yes), measure: .probability)
        XCTAssertEqual(tokens.map(\.index), expected.tokens.map(\.index))
        XCTAssertEqual(tokens.map(\.relevance), expected.tokens.map(\.drop))
        XCTAssertTrue(tokens.contains { $0.text.contains("birds") })
        let status = try server.client().call(Method.status, as: StatusResult.self)
        XCTAssertEqual(status.work, [], "no work of many passes is left running")
    }
}

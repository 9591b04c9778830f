// render and stats on the real engine (tiny-a, random weights) over a temporary socket: every output decodes, says
// which method made it and equals Visualize's map of the pipeline's own attention; one forward pass per request,
// recording only what the maps read; every bad parameter is refused naming it, and the daemon stays healthy.
import FixtureSupport
import Foundation
import ImageIO
import OFA
import OFAPipeline
import OFAWire
import Visualize
import XCTest

@testable import OFAServer

final class RenderMethodTests: XCTestCase {
    private static let imageName = "photo-200x150.jpg"
    private let image = TinyModel.image(RenderMethodTests.imageName)
    private let hypothesis = "two birds on a branch"
    private var spy: RecordingSpy!
    private var server: TestDaemon!
    private var model: ModelDescription!

    override func setUpWithError() throws {
        let engine = try PipelineEngine(
            options: EngineOptions(
                modelDirectory: TinyModel.directory, threads: 1, device: .cpu, maximumImagePixels: 40_000_000))
        spy = RecordingSpy(engine)
        let loader: EngineLoader = { [spy] _ in spy! }
        server = try TestDaemon(loader: loader) { $0.modelDirectory = TinyModel.directory }
        model = engine.pipeline.description
    }

    override func tearDown() {
        server = nil
        spy = nil
    }

    private func params(_ extra: [String: JSONValue] = [:]) throws -> JSONValue {
        var members: [String: JSONValue] = [
            "image": ["data": .string(Data(image).base64EncodedString())], "hypothesis": .string(hypothesis),
        ]
        members.merge(extra) { _, new in new }
        return .object(members)
    }

    private func render(_ extra: [String: JSONValue]) throws -> RenderResult {
        try server.client().call(Method.render, params: params(extra)).decode(RenderResult.self)
    }

    /// The answer-row cross-attention map of `layer`, straight from the pipeline through Visualize.
    private func referenceCrossMap(layer: Int, heads: HeadFusion = .mean) throws -> Heatmap {
        let pipeline = try TinyModel.reference.get()
        let result = try pipeline.predict(
            image: pipeline.prepare(imageBytes: image), hypothesis: hypothesis,
            attention: AttentionRequest(kinds: [.cross], layers: [layer], rows: [-1]))
        return try Heatmap.crossAttention(
            result.attention[0], grid: PatchGrid(rows: model.gridSize, columns: model.gridSize), heads: heads,
            renormalize: true)
    }

    func testAnOverlayIsAPNGOfTheImagesSizeLabelledWithItsMethodAndTheAnswer() throws {
        let result = try render([:])
        XCTAssertEqual(result.format, "png")
        let decoded = try ImageDecoder().decode(result.data.bytes)
        XCTAssertEqual([decoded.width, decoded.height], [200, 150])
        XCTAssertEqual([result.width, result.height], [200, 150])
        XCTAssertNil(result.frames)
        XCTAssertEqual(result.layers, [model.decoderLayers - 1], "an overlay draws the last layer by default")
        XCTAssertEqual(result.method.name, "cross_attention")
        XCTAssertEqual(result.method.parameters["layer"], String(model.decoderLayers - 1))
        XCTAssertEqual(result.method.parameters["heads"], "mean")
        XCTAssertEqual(result.method.parameters["row"], "-1")
        XCTAssertTrue(result.method.text.hasPrefix("cross_attention("), result.method.text)
        XCTAssertTrue(result.method.text.contains("colormap(jet, alpha=0.5)"), result.method.text)
        XCTAssertEqual(result.prediction, try TinyModel.expected(image, [hypothesis])[0])
        XCTAssertEqual(result.statistics.map(\.layer), result.layers)
        XCTAssertNotNil(result.timings.renderMs)

        let smaller = try render(["max_side": 100, "colorbar": true, "colormap": "viridis", "alpha": .number(0.3)])
        let small = try ImageDecoder().decode(smaller.data.bytes)
        XCTAssertEqual(small.height, 75, "max_side bounds the longer side, keeping the aspect ratio")
        XCTAssertGreaterThan(small.width, 100, "the colorbar is appended on the right")
        XCTAssertEqual([smaller.width, smaller.height], [small.width, small.height])
        XCTAssertTrue(smaller.method.text.contains("colormap(viridis, alpha=0.3)"), smaller.method.text)
    }

    func testAGridIsOnePNGWithACellPerLayer() throws {
        let result = try render(["output": "grid", "max_side": 80, "columns": 1])
        XCTAssertEqual(result.format, "png")
        XCTAssertEqual(result.layers, Array(0..<model.decoderLayers), "a grid draws every layer by default")
        let decoded = try ImageDecoder().decode(result.data.bytes)
        XCTAssertEqual([decoded.width, decoded.height], [result.width, result.height])
        XCTAssertLessThan(decoded.width, 100, "one column of 80-pixel cells")
        XCTAssertGreaterThan(decoded.height, 2 * 60, "two cells of 60 pixels one above the other, and a title")
        XCTAssertEqual(result.method.parameters["layers"], "0,1")
        XCTAssertEqual(result.statistics.map(\.layer), [0, 1])
    }

    func testAnAnimationIsAGIFWithAFramePerLayerItsDelayAndItsLoopCount() throws {
        let forever = try render(["output": "animation"])
        XCTAssertEqual(forever.format, "gif")
        XCTAssertEqual(forever.frames, model.decoderLayers)
        let gif = try GIFStructure(forever.data.bytes)
        XCTAssertTrue(gif.trailerSeen)
        XCTAssertEqual(gif.frames.count, model.decoderLayers)
        XCTAssertEqual([gif.width, gif.height], [200, 150])
        XCTAssertEqual([forever.width, forever.height], [200, 150])
        XCTAssertEqual(gif.frames.map(\.delay), [50, 50], "500 ms is 50 centiseconds")
        XCTAssertEqual(gif.loopCount, 0, "loop 0 is NETSCAPE2.0's forever")

        let counted = try render(["output": "animation", "frame_delay_ms": 120, "loop": 3, "layers": [-1, 0]])
        let counts = try GIFStructure(counted.data.bytes)
        XCTAssertEqual(counts.frames.map(\.delay), [12, 12])
        XCTAssertEqual(counts.loopCount, 3)
        XCTAssertEqual(counted.layers, [1, 0], "negative layers count from the end; the order is kept")
    }

    func testNpyHoldsTheMapsOfEveryLayerAsTheyWereComputed() throws {
        let result = try render(["output": "npy"])
        XCTAssertEqual(result.format, "npy")
        let array = try NPYFile.decode(result.data.bytes)
        XCTAssertEqual(array.shape, [model.decoderLayers, model.gridSize, model.gridSize])
        XCTAssertEqual([result.width, result.height, result.frames], [model.gridSize, model.gridSize, 2])
        let patches = model.gridSize * model.gridSize
        for layer in 0..<model.decoderLayers {
            let expected = try referenceCrossMap(layer: layer).values
            let got = Array(array.values[(layer * patches)..<((layer + 1) * patches)])
            XCTAssertEqual(got, expected, "layer \(layer)")
            XCTAssertEqual(got.reduce(0, +), 1, accuracy: 1e-5, "renormalised over the patches")
        }
        XCTAssertFalse(result.method.text.contains("colormap"), "raw maps are not drawn")
    }

    func testStatsDescribeEveryLayerOfEverySourceInOriginalPixels() throws {
        for source in ["cross", "encoder", "rollout"] {
            let result = try server.client().call(
                Method.stats, params: params(["source": .string(source), "top_k": 3])
            )
            .decode(StatsResult.self)
            let layers = source == "encoder" ? model.encoderLayers : model.decoderLayers
            XCTAssertEqual(result.statistics.map(\.layer), Array(0..<layers), source)
            XCTAssertEqual([result.imageWidth, result.imageHeight], [200, 150])
            XCTAssertEqual(result.patchGrid, PatchGridSize(rows: model.gridSize, cols: model.gridSize))
            XCTAssertEqual(result.prediction, try TinyModel.expected(image, [hypothesis])[0])
            for s in result.statistics {
                XCTAssertEqual(s.topK.count, 3)
                XCTAssertEqual(s.topK.first?.value, s.max)
                XCTAssertTrue(s.min <= s.mean && s.mean <= s.max)
                XCTAssertTrue((0...1).contains(s.focusArea))
                XCTAssertTrue((0...200).contains(s.centerOfMass[0]) && (0...150).contains(s.centerOfMass[1]))
                for patch in s.topK {
                    XCTAssertEqual(patch.box[0], Double(patch.col) * 200 / Double(model.gridSize), accuracy: 1e-9)
                    XCTAssertEqual(patch.box[3], Double(patch.row + 1) * 150 / Double(model.gridSize), accuracy: 1e-9)
                }
            }
            let expectedName = [
                "cross": "cross_attention", "encoder": "encoder_text_to_image", "rollout": "rollout_cross",
            ]
            XCTAssertEqual(result.method.name, expectedName[source])
        }
        let cross = try server.client().call(Method.stats, params: params(["layers": [0], "heads": 1]))
            .decode(StatsResult.self)
        let reference = try referenceCrossMap(layer: 0, heads: .head(1))
            .statistics(imageWidth: 200, imageHeight: 150)
        XCTAssertEqual(cross.statistics[0].mean, reference.mean, accuracy: 1e-12)
        XCTAssertEqual(cross.statistics[0].entropy, reference.entropy, accuracy: 1e-12)
        XCTAssertEqual(cross.statistics[0].centerOfMass, [reference.centerOfMass.x, reference.centerOfMass.y])
        XCTAssertEqual(cross.method.parameters["heads"], "head 1")
    }

    func testTheEncoderSourceDrawsTheHypothesisTokensOrOneToken() throws {
        let pipeline = try TinyModel.reference.get()
        let full = try pipeline.predict(
            image: pipeline.prepare(imageBytes: image), hypothesis: hypothesis,
            attention: AttentionRequest(kinds: [.encoder], layers: [0]))
        let encoder = full.attention[0]
        let grid = PatchGrid(rows: model.gridSize, columns: model.gridSize)
        // ` does the image describe " two birds on a branch "?`: the hypothesis's own tokens sit inside the quotes.
        let quotes = full.tokenStrings.indices.filter { full.tokenStrings[$0] == " \"" }
        XCTAssertEqual(quotes.count, 2, "\(full.tokenStrings)")
        let hypothesisTokens = Array((quotes[0] + 1)..<quotes[1])
        XCTAssertEqual(hypothesisTokens.map { full.tokenStrings[$0] }.joined(), " two birds on a branch")

        let mean = try render(["source": "encoder", "layers": [0], "output": "npy"])
        XCTAssertEqual(mean.method.parameters["tokens"], TokenSelection.mean(hypothesisTokens).description)
        XCTAssertEqual(
            try NPYFile.decode(mean.data.bytes).values,
            try Heatmap.textToImage(encoder, grid: grid, tokens: .mean(hypothesisTokens), renormalize: true).values)
        let one = try render(["source": "encoder", "layers": [0], "output": "npy", "token": 0, "heads": "max"])
        XCTAssertEqual(
            try NPYFile.decode(one.data.bytes).values,
            try Heatmap.textToImage(encoder, grid: grid, tokens: .token(0), heads: .max, renormalize: true).values)
        XCTAssertEqual(
            spy.recordings.last, AttentionRequest(kinds: [.encoder], layers: [0], rows: [grid.count]),
            "only the token's row is recorded")
        XCTAssertEqual(full.hypothesisTokens, hypothesisTokens[0]..<(hypothesisTokens.last! + 1))
    }

    func testEachRequestIsOneForwardPassRecordingOnlyWhatItsMapsRead() throws {
        _ = try render(["output": "grid"])
        XCTAssertEqual(
            spy.recordings, [AttentionRequest(kinds: [.cross], layers: [0, 1], rows: [-1])],
            "every layer of a grid comes from one pass, answer row only")
        _ = try render(["output": "animation", "source": "encoder"])
        let patches = model.gridSize * model.gridSize
        let text = try TinyModel.reference.get().prepareText(hypothesis: hypothesis)
        let pipeline = try TinyModel.reference.get()
        XCTAssertEqual(
            Array(text.sourceIDs[text.hypothesisTokens]), pipeline.tokenizer.encode(" two birds on a branch"))
        XCTAssertEqual(
            spy.recordings.last,
            AttentionRequest(kinds: [.encoder], layers: [0, 1], rows: text.hypothesisTokens.map { patches + $0 }),
            "only the hypothesis's tokens' rows")
        _ = try render(["source": "rollout", "fusion": "max", "discard_ratio": .number(0.5)])
        XCTAssertEqual(spy.recordings.last, AttentionRequest(kinds: [.encoder, .cross]))
        _ = try server.client().call(Method.stats, params: params(["layers": [1]]))
        XCTAssertEqual(spy.recordings.last, AttentionRequest(kinds: [.cross], layers: [1], rows: [-1]))
        XCTAssertEqual(spy.recordings.count, 4, "one engine call per request")
        let status = try server.client().call(Method.status, as: StatusResult.self)
        XCTAssertEqual(status.imageCache.misses, 1, "the image's features are computed once")
        XCTAssertGreaterThanOrEqual(status.imageCache.hits, 3)
    }

    func testEveryBadParameterIsRefusedNamingItAndTheDaemonStaysHealthy() throws {
        let client = try server.client()
        let cases: [([String: JSONValue], String)] = [
            (["colormap": "plasma"], "\"colormap\" \"plasma\" is not one of jet, viridis, inferno, gray"),
            (["output": "video"], "\"output\" \"video\" is not one of overlay, grid, animation, npy"),
            (["source": "saliency"], "\"source\" \"saliency\" is not one of cross, encoder, rollout"),
            (["layers": [2]], "\"layers\" 2 is out of range: the decoder has 2 layers (-2…1)"),
            (["layers": [-3]], "\"layers\" -3 is out of range"),
            (
                ["layers": [0], "source": "encoder", "token": 0, "heads": 4],
                "\"heads\" 4 is out of range: the encoder has 4"
            ),
            (["layers": []], "\"layers\" is empty"),
            (["layers": "most"], "\"layers\" expected a list of ints or \"all\""),
            (["alpha": .number(1.5)], "\"alpha\" 1.5 is not in [0, 1]"),
            (["alpha": .number(-0.1)], "\"alpha\" -0.1 is not in [0, 1]"),
            (["alpha": "high"], "\"alpha\" has the wrong type (expected a number)"),
            (["max_side": 100_000], "\"max_side\" 100000 is not in [16, 4096]"),
            (["max_side": 0], "\"max_side\" 0 is not in [16, 4096]"),
            (["heads": "avg"], "\"heads\" expected mean, max, min or a head index"),
            (["heads": 9], "\"heads\" 9 is out of range: the decoder has 4 heads"),
            (["token": 1], "\"token\" applies to source \"encoder\" only"),
            (["fusion": "max"], "\"fusion\" applies to source \"rollout\" only"),
            (["discard_ratio": .number(0.5)], "\"discard_ratio\" applies to source \"rollout\" only"),
            (["source": "rollout", "fusion": "median"], "\"fusion\" \"median\" is not one of mean, max, min"),
            (["source": "rollout", "discard_ratio": 1], "\"discard_ratio\" 1 is not in [0, 1)"),
            (["smoothing": -1], "\"smoothing\" -1 is not in [0, 64]"),
            (["temperature": 0], "\"temperature\" 0 is not in [0.001, 1000]"),
            (["frame_delay_ms": 0], "\"frame_delay_ms\" 0 is not in [10, 60000]"),
            (["loop": -1], "\"loop\" -1 is not in [0, 65535]"),
            (["top_k": -2], "\"top_k\" -2 is not in [0, 1000]"),
            (["focus_threshold": 2], "\"focus_threshold\" 2 is not in [0, 1]"),
            (["columns": 0], "\"columns\" 0 is not in [1, 64]"),
            (["source": "encoder", "token": 500], "\"token\" 500 is out of range: this prompt has"),
            (["hypothesis": " "], "the hypothesis is empty"),
            (["path": "/tmp/x.png"], "give the image as exactly one of \"image\""),
        ]
        for method in [Method.render, Method.stats] {
            for (extra, message) in cases {
                XCTAssertThrowsError(try client.call(method, params: params(extra)), "\(method) \(extra)") {
                    XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.invalidParams, "\(method) \(extra): \($0)")
                    XCTAssertTrue(
                        (($0 as? RPCError)?.message ?? "").contains(message),
                        "\(method) \(extra): \(($0 as? RPCError)?.message ?? "\($0)")")
                }
            }
        }
        XCTAssertEqual(try server.health().state, .ready)
        XCTAssertEqual(try render([:]).format, "png", "the daemon still draws after the refusals")
    }
}

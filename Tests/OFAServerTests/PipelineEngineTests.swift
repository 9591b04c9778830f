// The daemon on the real engine (the committed tiny-a model, random weights) over a temporary socket: its
// answers are the pipeline's own, alone, concurrent and pipelined; attention, the feature cache, error codes.
import FixtureSupport
import Foundation
import ImageIO
import OFA
import OFAPipeline
import OFAWire
import XCTest

@testable import OFAServer

final class PipelineEngineTests: XCTestCase {
    private let hypotheses = ["there are two birds.", "the two dogs are eating.", "a cat sits on the sofa."]

    func testPredictionsEqualThePipelinesOwnForEveryImageKindWithAndWithoutPremise() throws {
        let server = try TestDaemon.tinyModel()
        let client = try server.client()
        for name in TinyModel.imageNames {
            let image = TinyModel.image(name)
            for premise in [nil, "two animals in a garden"] {
                let result = try client.call(
                    Method.predict, TestDaemon.predictParams(hypotheses, image: image, premise: premise),
                    as: PredictResult.self)
                XCTAssertEqual(
                    result.predictions, try TinyModel.expected(image, hypotheses, premise: premise),
                    "\(name), premise \(premise ?? "none")")
            }
        }
    }

    func testConcurrentClientsEachGetThePipelinesAnswer() throws {
        let server = try TestDaemon.tinyModel { $0.workers = 2 }
        let images = TinyModel.imageNames.prefix(3).map(TinyModel.image)
        let questions = (0..<12).map { "hypothesis number \($0): " + hypotheses[$0 % 3] }
        var expected: [[Prediction]] = []
        for image in images { expected.append(try TinyModel.expected(image, questions)) }
        let lock = NSLock()
        var problems: [String] = []
        runConcurrently(16) { clientIndex, ready in
            do {
                let client = try server.client()
                ready()
                for request in 0..<4 {
                    let (imageIndex, question) = ((clientIndex + request) % 3, (clientIndex * 4 + request) % 12)
                    let result = try client.call(
                        Method.predict, TestDaemon.predictParams([questions[question]], image: images[imageIndex]),
                        as: PredictResult.self)
                    if result.predictions != [expected[imageIndex][question]] {
                        lock.withLock { problems.append("client \(clientIndex) request \(request): \(result)") }
                    }
                }
            } catch {
                lock.withLock { problems.append("client \(clientIndex): \(error)") }
            }
        }
        XCTAssertEqual(problems, [])
    }

    func testPipelinedPredictAndAttentionRequestsAreMatchedByIdWithTheRightAnswers() throws {
        let server = try TestDaemon.tinyModel()
        let client = try server.client()
        let images = TinyModel.imageNames.map(TinyModel.image)
        var expected: [String: Prediction] = [:]
        var frames: [UInt8] = []
        for index in 0..<30 {
            let image = images[index % images.count]
            let hypothesis = hypotheses[index % 3] + " (\(index))"
            expected["r\(index)"] = try TinyModel.expected(image, [hypothesis])[0]
            let method = index % 4 == 3 ? Method.attention : Method.predict
            let params =
                method == Method.predict
                ? TestDaemon.predictParams([hypothesis], image: image)
                : try JSONValue(
                    encoding: AttentionParams(
                        image: ImageInput(bytes: image), hypothesis: hypothesis,
                        attention: AttentionSelection(kinds: [.cross], headMean: true, queryPosition: -1)))
            frames += FrameCoder.encode(
                RPCRequest(id: .string("r\(index)"), method: method, params: params).json.serialized())
        }
        try client.sendRaw(frames)
        var seen = Set<String>()
        for _ in 0..<30 {
            let response = try client.receive()
            let id = try XCTUnwrap(response.id.stringValue)
            XCTAssertTrue(seen.insert(id).inserted, "two responses for \(id)")
            let result = try response.get()
            let prediction =
                result["predictions"] != nil
                ? try result.decode(PredictResult.self).predictions[0]
                : try result.decode(AttentionResult.self).prediction
            XCTAssertEqual(prediction, expected[id], id)
        }
    }

    func testAttentionComesBackWithItsShapeGeometryTokensAndThePipelinesValues() throws {
        let server = try TestDaemon.tinyModel()
        let image = TinyModel.image("scene-160x120.png")
        let hypothesis = hypotheses[0]
        let pipeline = try TinyModel.reference.get()
        let model = pipeline.description
        let request = AttentionRequest(kinds: [.encoder, .decoderSelf, .cross], heads: [0, 2])
        let reference = try pipeline.predict(
            image: pipeline.prepare(imageBytes: image), hypothesis: hypothesis, attention: request)
        let patches = reference.geometry.patchCount
        XCTAssertEqual(patches, model.gridSize * model.gridSize)
        let encoderTokens = (0..<patches).map { "<img_\($0)>" } + reference.tokenStrings
        let decoderTokens = reference.decoderTokenStrings

        let result = try server.client().call(
            Method.attention,
            AttentionParams(
                image: ImageInput(bytes: image), hypothesis: hypothesis,
                attention: AttentionSelection(kinds: [.cross, .encoder, .decoderSelf], heads: [0, 2])),
            as: AttentionResult.self)
        XCTAssertEqual(result.prediction, try TinyModel.expected(image, [hypothesis])[0])
        // No layers given: the last layer of each kind, in the order the kinds were asked for.
        XCTAssertEqual(result.maps.map(\.kind), [.cross, .encoder, .decoderSelf])
        XCTAssertEqual(
            result.maps.map(\.layer), [model.decoderLayers - 1, model.encoderLayers - 1, model.decoderLayers - 1])
        let grid = PatchGridSize(rows: model.gridSize, cols: model.gridSize)
        let (cross, encoder, decoderSelf) = (result.maps[0], result.maps[1], result.maps[2])
        XCTAssertEqual(cross.values.shape, [2, decoderTokens.count, encoderTokens.count])
        XCTAssertEqual(cross.patchGrid, grid)
        XCTAssertEqual(cross.queryTokens, decoderTokens)
        XCTAssertEqual(cross.keyTokens, encoderTokens)
        XCTAssertEqual(encoder.values.shape, [2, encoderTokens.count, encoderTokens.count])
        XCTAssertEqual(encoder.patchGrid, grid)
        XCTAssertEqual(encoder.queryTokens, encoderTokens)
        XCTAssertEqual(decoderSelf.values.shape, [2, decoderTokens.count, decoderTokens.count])
        XCTAssertNil(decoderSelf.patchGrid)
        XCTAssertEqual(decoderSelf.keyTokens, decoderTokens)
        for map in result.maps {
            XCTAssertEqual(map.heads, [0, 2])
            XCTAssertNil(map.queryPosition)
            let recorded = try XCTUnwrap(
                reference.attention.first { $0.kind.rawValue == map.kind.rawValue && $0.layer == map.layer })
            XCTAssertEqual(map.values.values, recorded.values, "\(map.kind)")
        }

        // The mean over all heads of the answer-predicting row, on every decoder layer.
        let mean = try server.client().call(
            Method.attention,
            AttentionParams(
                image: ImageInput(bytes: image), hypothesis: hypothesis,
                attention: AttentionSelection(
                    kinds: [.cross], layers: Array(0..<model.decoderLayers), headMean: true, queryPosition: -1)),
            as: AttentionResult.self)
        XCTAssertEqual(mean.maps.map(\.layer), Array(0..<model.decoderLayers))
        for map in mean.maps {
            XCTAssertEqual(map.values.shape, [1, 1, encoderTokens.count])
            XCTAssertNil(map.heads)
            XCTAssertEqual(map.queryPosition, decoderTokens.count - 1)
            XCTAssertEqual(map.queryTokens, [decoderTokens.last!])
            XCTAssertEqual(map.values.values.reduce(0, +), 1, accuracy: 1e-4, "a probability row sums to 1")
        }
        let everyHead = try pipeline.predict(
            image: pipeline.prepare(imageBytes: image), hypothesis: hypothesis,
            attention: AttentionRequest(kinds: [.cross], layers: [0], rows: [-1]))
        let heads = everyHead.attention[0]
        let keys = heads.keys
        let expectedMean = (0..<keys).map { key in
            (0..<heads.heads.count).map { heads.values[$0 * keys + key] }.reduce(0, +) / Float(heads.heads.count)
        }
        for (got, want) in zip(mean.maps[0].values.values, expectedMean) { XCTAssertEqual(got, want, accuracy: 1e-6) }
    }

    func testAnAttentionLayerHeadOrQueryTheModelDoesNotHaveIsOutOfRange() throws {
        let server = try TestDaemon.tinyModel()
        let model = try TinyModel.reference.get().description
        let client = try server.client()
        let selections = [
            AttentionSelection(kinds: [.cross], layers: [model.decoderLayers]),
            AttentionSelection(kinds: [.encoder], layers: [0, model.encoderLayers + 3]),
            AttentionSelection(kinds: [.decoderSelf], heads: [model.decoderAttentionHeads]),
            AttentionSelection(kinds: [.cross], queryPosition: 1000),
            AttentionSelection(kinds: [.encoder], queryPosition: -1000),
        ]
        for selection in selections {
            let params = AttentionParams(
                image: ImageInput(bytes: TinyModel.image("scene-160x120.png")), hypothesis: "a cat",
                attention: selection)
            XCTAssertThrowsError(try client.call(Method.attention, params: JSONValue(encoding: params))) {
                XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.attentionOutOfRange, "\(selection)")
                XCTAssertTrue("\($0)".contains("out of range"), "\($0)")
            }
        }
        let empty = try JSONValue(
            parsing: Array(#"{"image":{"path":"/x"},"hypothesis":"a","attention":{"layers":[]}}"#.utf8))
        XCTAssertThrowsError(try client.call(Method.attention, params: empty)) {
            XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.invalidParams)
        }
        XCTAssertEqual(try server.health().state, .ready)
    }

    func testARepeatedImageSkipsTheBackboneAndGivesTheSameAnswers() throws {
        let server = try TestDaemon.tinyModel()
        let client = try server.client()
        let image = TinyModel.image("photo-200x150.jpg")
        let expected = try TinyModel.expected(image, hypotheses)
        for (index, hypothesis) in hypotheses.enumerated() {
            let result = try client.call(
                Method.predict, TestDaemon.predictParams([hypothesis], image: image), as: PredictResult.self)
            XCTAssertEqual(result.predictions, [expected[index]])
            XCTAssertEqual(result.timings.imageCached, index > 0, "request \(index)")
            XCTAssertEqual(result.timings.imageMs == 0, index > 0, "request \(index): \(result.timings)")
            XCTAssertGreaterThan(result.timings.modelMs, 0)
        }
        let attention = try client.call(
            Method.attention,
            AttentionParams(
                image: ImageInput(bytes: image), hypothesis: "a fourth one", attention: AttentionSelection()),
            as: AttentionResult.self)
        XCTAssertTrue(attention.timings.imageCached)
        let status = try client.call(Method.status, as: StatusResult.self)
        XCTAssertEqual(status.imageCache.entries, 1)
        XCTAssertEqual(status.imageCache.misses, 1)
        XCTAssertEqual(status.imageCache.hits, hypotheses.count)
        XCTAssertTrue(status.architecture.hasPrefix("OFA d=32"), status.architecture)
        XCTAssertEqual(status.precision, "fp32")
    }

    func testABFloat16EngineSaysSoAndAnswersAsTheFloat32OneDoesWhereTheCPUOffersIt() throws {
        let options = EngineOptions(
            modelDirectory: TinyModel.directory, threads: 1, device: .cpu, maximumImagePixels: 40_000_000,
            precision: .bfloat16)
        guard CPUBackend.offeredPrecisions.contains(.bfloat16) else {
            XCTAssertThrowsError(try PipelineEngine(options: options)) {
                XCTAssertTrue("\($0)".contains("bf16"), "\($0)")
            }
            throw XCTSkip("this CPU offers no bf16: checked that the engine refuses it")
        }
        let engine = try PipelineEngine(options: options)
        XCTAssertEqual(engine.describe().precision, "bf16")
        XCTAssertTrue(engine.describe().imageParameters.hasSuffix(" bf16"), "bf16 features are cached apart")
        let image = TinyModel.image("photo-200x150.jpg")
        let predictions = try engine.predict(
            image: try engine.prepareImage(image, seconds: 30), hypotheses: hypotheses, premise: nil)
        let expected = try TinyModel.expected(image, hypotheses, premise: nil)
        for (bf16, fp32) in zip(predictions, expected) {
            // tiny-a's answers are clear (margins above 0.5): bf16 keeps them, probabilities within 0.05.
            XCTAssertEqual(bf16.label, fp32.label)
            XCTAssertEqual(Set(bf16.probabilities.keys), Set(fp32.probabilities.keys))
            for (answer, probability) in fp32.probabilities {
                XCTAssertEqual(bf16.probabilities[answer] ?? -1, probability, accuracy: 0.05, answer)
            }
        }
    }

    func testABFloat16EngineScoresACloseCallAgainNearerFloat32AndSaysSo() throws {
        guard CPUBackend.offeredPrecisions.contains(.bfloat16) else { throw XCTSkip("this CPU offers no bf16") }
        let image = TinyModel.image("photo-200x150.jpg")
        let expected = try TinyModel.expected(image, hypotheses, premise: nil)
        func predictions(closeCallMargin: Float, counted: Int?) throws -> [Prediction] {
            let engine = try PipelineEngine(
                options: EngineOptions(
                    modelDirectory: TinyModel.directory, threads: 1, device: .cpu, maximumImagePixels: 40_000_000,
                    precision: .bfloat16, closeCallMargin: closeCallMargin))
            let predictions = try engine.predict(
                image: try engine.prepareImage(image, seconds: 30), hypotheses: hypotheses, premise: nil)
            XCTAssertEqual(engine.describe().closeCalls, counted, "margin \(closeCallMargin)")
            return predictions
        }
        func distance(_ prediction: Prediction, _ reference: Prediction) -> Float {
            reference.probabilities.map { abs((prediction.probabilities[$0.key] ?? -1) - $0.value) }.max() ?? 1
        }
        // A margin of 1 makes every answer a close call; 0 none.
        let plain = try predictions(closeCallMargin: 0, counted: nil)
        let checked = try predictions(closeCallMargin: 1, counted: hypotheses.count)
        for ((plain, checked), fp32) in zip(zip(plain, checked), expected) {
            XCTAssertNil(plain.closeCall)
            XCTAssertEqual(checked.closeCall, true)
            XCTAssertEqual(checked.label, fp32.label)
            XCTAssertLessThanOrEqual(distance(checked, fp32), 0.01, "\(checked) vs \(fp32)")
            XCTAssertLessThan(distance(checked, fp32), distance(plain, fp32), "\(checked.hypothesis)")
        }
        let wire = String(decoding: try JSONEncoder().encode(checked[0]), as: UTF8.self)
        XCTAssertTrue(wire.contains("\"close_call\":true"), wire)
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(plain[0]), as: UTF8.self).contains("close_call"))
    }

    func testAHypothesisPastMaxSourceLengthIsAnsweredAsItsTruncationUpToTheTextLimit() throws {
        // The reference's own case: 300 words cut to max_src_length (256) tokens, answered by modelscope.
        struct Golden: Decodable {
            var image: String
            var hypothesis: String
            var label: String
            var probabilities: [Double]
        }
        struct Goldens: Decodable {
            var answers: [String]
            var cases: [Golden]
        }
        let fixture = try Data(
            contentsOf: URL(fileURLWithPath: repositoryRoot + "/Tests/Fixtures/pipeline/tiny-a.json"))
        let goldens = try JSONDecoder().decode(Goldens.self, from: fixture)
        let golden = try XCTUnwrap(goldens.cases.first { $0.hypothesis.count > 1000 })
        let image = TinyModel.image(String(golden.image.dropFirst("images/".count)))
        let truncation = try TinyModel.expected(image, [golden.hypothesis])[0]
        XCTAssertEqual(truncation.answer, golden.label)
        for (answer, reference) in zip(goldens.answers, golden.probabilities) {
            XCTAssertEqual(Double(truncation.probabilities[answer] ?? -1), reference, accuracy: 1e-4, answer)
        }

        let server = try TestDaemon.tinyModel()
        let limit = DaemonConfiguration().maximumTextLength
        XCTAssertGreaterThanOrEqual(limit, 32 * 1024, "only abusive sizes are refused")
        let words = golden.hypothesis.split(separator: " ")
        let longer = golden.hypothesis + " " + words.prefix(70).joined(separator: " ")
        let atTheLimit = String(String(repeating: golden.hypothesis + " ", count: limit / 1000).prefix(limit))
        XCTAssertGreaterThan(longer.count, 1900)
        XCTAssertEqual(atTheLimit.count, limit)
        for hypothesis in [longer, atTheLimit] {
            let result = try server.client().call(
                Method.predict, TestDaemon.predictParams([hypothesis], image: image), as: PredictResult.self)
            let prediction = try XCTUnwrap(result.predictions.first)
            XCTAssertEqual(prediction.hypothesis, hypothesis)
            XCTAssertEqual(prediction.answer, truncation.answer, "\(hypothesis.count) characters")
            XCTAssertEqual(prediction.label, truncation.label)
            XCTAssertEqual(prediction.probabilities, truncation.probabilities, "\(hypothesis.count) characters")
        }

        let over = atTheLimit + "s"
        XCTAssertThrowsError(
            try server.client().call(Method.predict, params: TestDaemon.predictParams([over], image: image))
        ) {
            XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.inputTooLarge)
            XCTAssertEqual(
                ($0 as? RPCError)?.message, "text of \(limit + 1) characters, over the limit of \(limit)")
        }
        XCTAssertEqual(try server.health().state, .ready)
    }

    func testAnImageWithAGoodHeaderButCorruptDataIsUndecodable() throws {
        let server = try TestDaemon.tinyModel()
        var png = TinyModel.image("scene-160x120.png")
        // Keep the signature and IHDR (the daemon's header check passes); spoil the image data after it.
        for index in 40..<png.count - 12 { png[index] ^= 0x5a }
        var jpeg = TinyModel.image("photo-200x150.jpg")
        jpeg.removeLast(jpeg.count / 2)
        for bytes in [png, jpeg] {
            XCTAssertThrowsError(
                try server.client().call(Method.predict, params: TestDaemon.predictParams(["a cat"], image: bytes))
            ) {
                XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.imageUndecodable, "\($0)")
            }
        }
        XCTAssertEqual(try server.health().state, .ready)
    }

    func testAJPEGOfTooManyScansIsRefusedQuicklyAndTheDaemonStaysHealthy() throws {
        let server = try TestDaemon.tinyModel()
        let path = repositoryRoot + "/Tests/Fixtures/hostile/jpeg-progressive-1000-scans.jpg"
        let bomb = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let start = Date()
        XCTAssertThrowsError(
            try server.client().call(Method.predict, params: TestDaemon.predictParams(["a cat"], image: bomb))
        ) {
            XCTAssertEqual(($0 as? RPCError)?.code, RPCErrorCode.inputTooLarge, "\($0)")
            XCTAssertTrue("\($0)".contains("500 scans"), "\($0)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertEqual(try server.health().state, .ready)
    }

    func testImageDecodingStopsAtTheRequestDeadline() throws {
        // The engine itself, given no time: decoding stops and the error is the timeout's, not a decode failure.
        let engine = try PipelineEngine(
            options: EngineOptions(
                modelDirectory: TinyModel.directory, threads: 1, device: .cpu, maximumImagePixels: 40_000_000))
        let image = TinyModel.image("photo-200x150.jpg")
        XCTAssertThrowsError(try engine.prepareImage(image, seconds: 0)) {
            let error = ($0 as? EngineError) ?? .failed("\($0)")
            XCTAssertEqual(PredictionWork.rpcError(error).code, RPCErrorCode.timedOut)
        }
        XCTAssertNoThrow(try engine.prepareImage(image, seconds: 30))
    }

    func testEveryAttentionKindOnTheWireIsOneTheEngineRecords() {
        for kind in AttentionKind.allCases {
            XCTAssertNotNil(AttentionRequest.Kind(rawValue: kind.rawValue), kind.rawValue)
        }
        XCTAssertEqual(AttentionKind.allCases.count, AttentionRequest.Kind.allCases.count)
    }

    func testEveryEngineErrorMapsToItsDocumentedCode() {
        let cases: [(Error, Int)] = [
            (ImageError.corrupt(.png, reason: "bad"), RPCErrorCode.imageUndecodable),
            (ImageError.truncated(.jpeg), RPCErrorCode.imageUndecodable),
            (ImageError.unsupportedFormat(detail: "GIF"), RPCErrorCode.imageUndecodable),
            (ImageError.empty, RPCErrorCode.imageUndecodable),
            (ImageError.zeroSize(.png), RPCErrorCode.imageUndecodable),
            (ImageError.unsupportedLayout(.jpeg, detail: "CMYK"), RPCErrorCode.imageUndecodable),
            (ImageError.tooManyPixels(width: 9, height: 9, limit: 10), RPCErrorCode.inputTooLarge),
            (ImageError.outOfMemory(.jpeg), RPCErrorCode.inputTooLarge),
            (ImageError.tooManyScans(limit: 500), RPCErrorCode.inputTooLarge),
            (ImageError.deadlinePassed(.jpeg), RPCErrorCode.timedOut),
            (PipelineError.deadlinePassed, RPCErrorCode.timedOut),
            (InputError.sequenceTooLong("source", length: 2000, limit: 1024), RPCErrorCode.inputTooLarge),
            (InputError.emptySequence("source"), RPCErrorCode.invalidParams),
            (PipelineError.emptyHypothesis, RPCErrorCode.invalidParams),
            (EngineError.selectionOutOfRange("layer 9"), RPCErrorCode.attentionOutOfRange),
            (InputError.tokenOutOfRange("source", token: 9999, vocabularySize: 10), RPCErrorCode.internalError),
            (PipelineError.imageFromAnotherModel, RPCErrorCode.internalError),
            (CheckpointError.missingTensor("x"), RPCErrorCode.internalError),
            (CUDAError.outOfMemory(bytes: 1 << 30), RPCErrorCode.serverBusy),
            (
                CUDAError.driver(call: "cuLaunchKernel(ofa_add)", code: 719, message: "unspecified launch failure"),
                RPCErrorCode.internalError
            ),
        ]
        for (error, code) in cases {
            let rpc = PredictionWork.rpcError(PipelineEngine.engineError(error))
            XCTAssertEqual(rpc.code, code, "\(error)")
            XCTAssertTrue(rpc.message.contains("\(error)"), "the message keeps the engine's reason: \(rpc.message)")
        }
    }
}

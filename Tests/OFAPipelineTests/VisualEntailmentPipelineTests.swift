// The library entry point's rules: image reuse, attention on request, typed errors, labels, description.
import Foundation
import ImageIO
import OFA
import Testing

@testable import OFAPipeline

private let sceneBytes = try! PipelineFixtures.bytes("images/scene-160x120.png")
private let hypotheses = ["there are two birds.", "the two dogs are eating.", "a cat sits on the sofa."]

/// Same answers, same order, probabilities equal to float32 rounding. Swift Testing runs suites in parallel, and
/// the products' library called from several threads at once may split a GEMM differently, which moves the last
/// bits (seen in CI: differences of 5e-7); a real difference between two paths would be far larger.
func closeEnough(_ a: [AnswerProbability], _ b: [AnswerProbability]) -> Bool {
    a.count == b.count
        && zip(a, b).allSatisfy {
            $0.answer == $1.answer && $0.label == $1.label && abs($0.probability - $1.probability) <= 1e-5
        }
}

@Suite("VisualEntailmentPipeline")
struct VisualEntailmentPipelineTests {
    @Test("several hypotheses for one image reuse one prepared image and equal separate calls")
    func severalHypotheses() throws {
        let pipeline = try SharedPipelines.pipeline("tiny-a")
        let together = try pipeline.predict(imageBytes: sceneBytes, hypotheses: hypotheses, premise: "two animals")
        #expect(together.count == hypotheses.count)
        // One prepared image: every result carries the same image timings.
        #expect(Set(together.map(\.timings.backboneSeconds)).count == 1)
        #expect(Set(together.map(\.timings.imagePreprocessSeconds)).count == 1)
        let prepared = try pipeline.prepare(imageBytes: sceneBytes)
        for (hypothesis, combined) in zip(hypotheses, together) {
            let separate = try pipeline.predict(
                imageBytes: sceneBytes, hypotheses: [hypothesis], premise: "two animals")
            let reused = try pipeline.predict(image: prepared, hypothesis: hypothesis, premise: "two animals")
            for single in [separate[0], reused] {
                #expect(closeEnough(single.probabilities, combined.probabilities), "\(hypothesis)")
                #expect(single.answer == combined.answer)
                #expect(single.sourceTokens == combined.sourceTokens)
            }
        }
        #expect(together[0].sourceTokens != together[1].sourceTokens)
    }

    @Test("a prepared image serves concurrent requests with the answers of serial ones")
    func concurrentRequests() async throws {
        let pipeline = try SharedPipelines.pipeline("tiny-b")
        let prepared = try pipeline.prepare(imageBytes: sceneBytes)
        let serial = try hypotheses.map { try pipeline.predict(image: prepared, hypothesis: $0).probabilities }
        let concurrent = try await withThrowingTaskGroup(of: (Int, [AnswerProbability]).self) { group in
            for (index, hypothesis) in hypotheses.enumerated() {
                group.addTask { (index, try pipeline.predict(image: prepared, hypothesis: hypothesis).probabilities) }
            }
            var results = [[AnswerProbability]](repeating: [], count: hypotheses.count)
            for try await (index, probabilities) in group { results[index] = probabilities }
            return results
        }
        #expect(zip(concurrent, serial).allSatisfy { closeEnough($0, $1) })
    }

    @Test("attention requested comes back with its geometry and the text of every token")
    func attentionOnRequest() throws {
        let pipeline = try SharedPipelines.pipeline("tiny-a")
        let prepared = try pipeline.prepare(imageBytes: sceneBytes)
        let request = AttentionRequest(kinds: [.cross], heads: [0, 2], rows: [-1])
        let result = try pipeline.predict(image: prepared, hypothesis: "there are two birds.", attention: request)
        let configuration = pipeline.model.configuration
        #expect(result.attention.count == configuration.decoderLayers)
        let grid = pipeline.model.gridSize
        #expect(result.geometry.grid.rows == grid && result.geometry.grid.columns == grid)
        #expect(result.geometry.sourceTokens == result.sourceTokens)
        #expect(result.geometry.decoderTokens == result.decoderTokens)
        for map in result.attention {
            #expect(map.kind == .cross)
            #expect(map.heads == [0, 2])
            #expect(map.rows == [result.decoderTokens.count - 1])
            #expect(map.keys == result.geometry.sourceLength)
            #expect(map.values.count == 2 * map.keys)
        }
        #expect(result.tokenStrings.count == result.sourceTokens.count)
        #expect(result.tokenStrings.first == "<s>" && result.tokenStrings.last == "</s>")
        #expect(result.tokenStrings.dropFirst().dropLast().joined() == result.prompt)
        #expect(result.prompt == " does the image describe \" there are two birds. \"?")
        #expect(result.decoderTokenStrings == Array(result.tokenStrings.dropLast()))
        #expect(result.originalWidth == 160 && result.originalHeight == 120)

        let plain = try pipeline.predict(image: prepared, hypothesis: "there are two birds.")
        #expect(plain.attention.isEmpty)
        #expect(closeEnough(plain.probabilities, result.probabilities))
    }

    @Test("the EXIF orientation is applied before the original size is reported")
    func orientedSize() throws {
        let prepared = try SharedPipelines.pipeline("tiny-a").prepare(
            imageBytes: try PipelineFixtures.bytes("images/exif-6-120x80.jpg"))
        #expect(prepared.originalWidth == 80 && prepared.originalHeight == 120)
    }

    @Test("bad image bytes give ImageIO's typed error")
    func badImages() throws {
        let pipeline = try SharedPipelines.pipeline("tiny-a")
        #expect(throws: ImageError.empty) { try pipeline.prepare(imageBytes: []) }
        let text = Array("not an image at all".utf8)
        #expect(throws: ImageError.self) { try pipeline.predict(imageBytes: text, hypotheses: ["a dog"]) }
        #expect(throws: ImageError.truncated(.png)) {
            try pipeline.predict(imageBytes: Array(sceneBytes.prefix(sceneBytes.count / 2)), hypotheses: ["a dog"])
        }
    }

    @Test("a pipeline given a backend keeps its weights there and answers as the one that makes its own")
    func injectedBackend() throws {
        let backend = try CPUBackend(threads: 1, precision: .float32)
        let pipeline = try VisualEntailmentPipeline(
            modelDirectory: PipelineFixtures.modelDirectory("tiny-a"), backend: backend)
        #expect(pipeline.model.backend === backend)
        #expect(pipeline.description.threads == 1)
        let given = try pipeline.predict(imageBytes: sceneBytes, hypotheses: hypotheses)
        let own = try SharedPipelines.pipeline("tiny-a").predict(imageBytes: sceneBytes, hypotheses: hypotheses)
        for (a, b) in zip(given, own) { #expect(closeEnough(a.probabilities, b.probabilities)) }
    }

    @Test("an image over the pixel limit is refused before it is decoded")
    func pixelLimit() throws {
        let pipeline = try VisualEntailmentPipeline(
            modelDirectory: PipelineFixtures.modelDirectory("tiny-a"), threads: 1, pixelLimit: 100)
        #expect(throws: ImageError.tooManyPixels(width: 160, height: 120, limit: 100)) {
            try pipeline.prepare(imageBytes: sceneBytes)
        }
    }

    @Test("an empty or blank hypothesis is an error, found before the image is decoded")
    func emptyHypothesis() throws {
        let pipeline = try SharedPipelines.pipeline("tiny-a")
        #expect(throws: PipelineError.emptyHypothesis) { try pipeline.predict(imageBytes: [], hypotheses: [""]) }
        #expect(throws: PipelineError.emptyHypothesis) {
            try pipeline.predict(imageBytes: sceneBytes, hypotheses: ["a dog", " \n\t"])
        }
        let prepared = try pipeline.prepare(imageBytes: sceneBytes)
        #expect(throws: PipelineError.emptyHypothesis) { try pipeline.predict(image: prepared, hypothesis: "") }
        #expect(throws: PipelineError.noHypotheses) { try pipeline.predict(imageBytes: sceneBytes, hypotheses: []) }
    }

    @Test("a prepared image only serves the model that prepared it")
    func foreignImage() throws {
        let prepared = try SharedPipelines.pipeline("tiny-a").prepare(imageBytes: sceneBytes)
        #expect(throws: PipelineError.imageFromAnotherModel) {
            try SharedPipelines.pipeline("tiny-b").predict(image: prepared, hypothesis: "a dog")
        }
    }

    @Test("answers map to SNLI-VE labels: yes entailment, no contradiction, maybe neutral; others keep their word")
    func labels() throws {
        #expect(AnswerLabel.label(for: "yes") == "entailment")
        #expect(AnswerLabel.label(for: "no") == "contradiction")
        #expect(AnswerLabel.label(for: "maybe") == "neutral")
        #expect(AnswerLabel.label(for: "perhaps") == "perhaps")
        let result = try SharedPipelines.pipeline("tiny-a").predict(imageBytes: sceneBytes, hypotheses: ["a dog"])[0]
        #expect(result.probabilities.map(\.label) == ["contradiction", "entailment", "neutral"])
        #expect(result.score == result.probabilities.map(\.probability).max())
        #expect(abs(result.probabilities.map(\.probability).reduce(0, +) - 1) < 1e-5)
    }

    @Test("the description names the directory, weights, sizes, grid, answers and vocabulary")
    func description() throws {
        let description = try SharedPipelines.pipeline("tiny-b").description
        #expect(description.weightsFile == "pytorch_model.bin")
        #expect(description.directory.hasSuffix("models/tiny-b"))
        #expect(description.modelDimension == 48)
        #expect(description.encoderLayers == 3 && description.decoderLayers == 2)
        #expect(description.encoderAttentionHeads == 6 && description.decoderAttentionHeads == 6)
        #expect(description.resnetType == "resnet18")
        #expect(description.patchImageSize == 96 && description.gridSize == 6)
        #expect(description.answers == ["no", "yes", "maybe"])
        #expect(description.labels == ["contradiction", "entailment", "neutral"])
        #expect(description.vocabularySize == 3172)
        #expect(description.tokenizerSize == 3172 + 9192)
        #expect(description.promptType == "prev_output")
        #expect(description.description.contains("6×6 patches"))
    }

    @Test("a missing model directory fails to load with the engine's typed error")
    func missingDirectory() {
        #expect(throws: ConfigurationError.self) {
            try VisualEntailmentPipeline(modelDirectory: "/nonexistent/ofa-model", threads: 1)
        }
    }
}

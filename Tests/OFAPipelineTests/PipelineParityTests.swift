// End to end against modelscope's own visual-entailment pipeline: same model directory, same image files,
// same sentences (goldens from Tools/fixtures/make_pipeline_fixtures.py).
import Foundation
import OFAPipeline
import Testing

@Suite("The pipeline answers as modelscope's visual-entailment pipeline")
struct PipelineParityTests {
    @Test(
        "on the same files and sentences the Swift pipeline gives modelscope's answer, tokens and probabilities ±1e-4",
        arguments: ["tiny-a", "tiny-b"])
    func matchesModelscope(model: String) throws {
        let pipeline = try SharedPipelines.pipeline(model)
        let goldens = try PipelineFixtures.goldens(model)
        #expect(goldens.cases.count >= 8)
        #expect(pipeline.model.task.answers == goldens.answers)
        var largest = 0.0
        for golden in goldens.cases {
            let what = "\(model) \(golden.name) \(golden.image) \(golden.hypothesis.prefix(40).debugDescription)"
            let result = try pipeline.predict(
                imageBytes: try PipelineFixtures.bytes(golden.image), hypotheses: [golden.hypothesis],
                premise: golden.premise)[0]
            #expect(result.sourceTokens == golden.sourceTokens, "\(what): source tokens")
            #expect(result.answer == golden.label, "\(what): \(result.probabilities)")
            #expect(result.label == AnswerLabel.label(for: golden.label), "\(what)")
            #expect(result.probabilities.map(\.answer) == goldens.answers)
            let differences = zip(result.probabilities, golden.probabilities).map { abs(Double($0.probability) - $1) }
            let difference = max(differences.max() ?? .infinity, abs(Double(result.score) - golden.score))
            #expect(difference <= 1e-4, "\(what): \(result.probabilities) vs \(golden.probabilities)")
            largest = max(largest, difference)
        }
        print("\(model): \(goldens.cases.count) cases, largest |Δ probability| vs modelscope's pipeline \(largest)")
    }

    @Test("a text longer than max_src_length is cut to its first tokens, as the reference tokenizer does")
    func longTextIsTruncated() throws {
        let pipeline = try SharedPipelines.pipeline("tiny-a")
        let goldens = try PipelineFixtures.goldens("tiny-a")
        let long = try #require(goldens.cases.first { $0.hypothesis.count > 1000 })
        let result = try pipeline.predict(
            imageBytes: try PipelineFixtures.bytes(long.image), hypotheses: [long.hypothesis], premise: long.premise)[0]
        #expect(result.sourceTokens.count == pipeline.model.task.maximumSourceLength + 2)
        #expect(result.sourceTokens == long.sourceTokens)
    }
}

// configuration.json settings the pipeline applies: prompt_type, gen_type and a configured prompt; where the
// hypothesis lies among the source tokens.
import Foundation
import OFA
import Testing

@testable import OFAPipeline

/// A copy of tiny-a (files linked) whose configuration.json `model` section is changed by `edit`.
private func tinyAVariant(_ edit: (inout [String: Any]) -> Void) throws -> String {
    let source = URL(fileURLWithPath: PipelineFixtures.modelDirectory("tiny-a"))
    let target = FileManager.default.temporaryDirectory.appendingPathComponent("ofa-pipeline-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
    for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name != "configuration.json" {
        try FileManager.default.createSymbolicLink(
            at: target.appendingPathComponent(name), withDestinationURL: source.appendingPathComponent(name))
    }
    let data = try Data(contentsOf: source.appendingPathComponent("configuration.json"))
    var configuration = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    var model = configuration["model"] as! [String: Any]
    edit(&model)
    configuration["model"] = model
    try JSONSerialization.data(withJSONObject: configuration).write(
        to: target.appendingPathComponent("configuration.json"))
    return target.path
}

private let image = try! PipelineFixtures.bytes("images/noise-64x64.png")

@Suite("Task settings from configuration.json")
struct TaskSettingsTests {
    @Test("prompt_type prev_output gives the decoder the source without its eos")
    func previousOutput() throws {
        let result = try SharedPipelines.pipeline("tiny-a").predict(imageBytes: image, hypotheses: ["a dog"])[0]
        #expect(result.decoderTokens == Array(result.sourceTokens.dropLast()))
    }

    @Test("prompt_type none gives the decoder only the bos token")
    func noPrompt() throws {
        let directory = try tinyAVariant { $0["prompt_type"] = "none" }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pipeline = try VisualEntailmentPipeline(modelDirectory: directory, threads: 1)
        let result = try pipeline.predict(imageBytes: image, hypotheses: ["a dog"])[0]
        #expect(result.decoderTokens == [0])
        #expect(result.decoderTokenStrings == ["<s>"])
        #expect(result.sourceTokens.count > 2)
    }

    @Test("a configured prompt replaces both templates")
    func configuredPrompt() throws {
        let directory = try tinyAVariant { $0["prompt"] = " is \"{}\" true?" }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pipeline = try VisualEntailmentPipeline(modelDirectory: directory, threads: 1)
        let hypothesisOnly = try pipeline.predict(imageBytes: image, hypotheses: ["A dog."])[0]
        #expect(hypothesisOnly.prompt == " is \"a dog.\" true?")
        let withPremise = try pipeline.predict(imageBytes: image, hypotheses: ["A dog."], premise: "A cat.")[0]
        #expect(withPremise.prompt == " is \"a cat.\" true?")
    }

    @Test("a malformed configured prompt fails at load, naming model.prompt")
    func malformedPrompt() throws {
        let directory = try tinyAVariant { $0["prompt"] = " is {0} {2} true?" }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect {
            try VisualEntailmentPipeline(modelDirectory: directory, threads: 1)
        } throws: { error in
            guard case ConfigurationError.invalid(let key, _) = error else { return false }
            return key == "model.prompt"
        }
    }

    @Test(
        "gen_type other than traverse, or absent, is refused at load, naming model.gen_type",
        arguments: ["generation", nil])
    func generationRefused(value: String?) throws {
        let directory = try tinyAVariant { $0["gen_type"] = value }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect {
            try VisualEntailmentPipeline(modelDirectory: directory, threads: 1)
        } throws: { error in
            guard case ConfigurationError.invalid(let key, _) = error else { return false }
            return key == "model.gen_type"
        }
    }

    @Test("the hypothesis span holds exactly the hypothesis's own tokens, after a premise too")
    func hypothesisSpan() throws {
        let pipeline = try SharedPipelines.pipeline("tiny-a")
        for premise in [nil, "two dogs play on grass"] as [String?] {
            let text = try pipeline.prepareText(hypothesis: "A cat on a sofa.", premise: premise)
            let own = pipeline.tokenizer.encode(" a cat on a sofa.")
            #expect(Array(text.sourceIDs[text.hypothesisTokens]) == own)
            let result = try pipeline.predict(imageBytes: image, hypotheses: ["A cat on a sofa."], premise: premise)[0]
            #expect(result.hypothesisTokens == text.hypothesisTokens)
        }
    }

    @Test("a hypothesis cut at max_src_length keeps the span of the tokens that survived")
    func truncatedSpan() throws {
        let pipeline = try SharedPipelines.pipeline("tiny-a")
        let long = Array(repeating: "cat", count: 400).joined(separator: " ")
        let text = try pipeline.prepareText(hypothesis: long)
        #expect(text.hypothesisTokens.lowerBound > 1)
        #expect(text.hypothesisTokens.upperBound == text.sourceIDs.count - 1)
    }
}

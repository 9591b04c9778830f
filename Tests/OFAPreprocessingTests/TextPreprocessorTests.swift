// pre_caption, the prompt templates and the final ids against modelscope's visual-entailment preprocessor.
import FixtureSupport
import Testing

@testable import OFAPreprocessing

private let textCases = try! Fixtures.json("tokenizer/text-cases.json")["cases"] as! [[String: Any]]

@Suite("Text preprocessing matches modelscope's")
struct TextPreprocessorTests {
    @Test("hypothesis, optional premise, optional prompt and max_src_length give the reference source and decoder ids")
    func goldens() throws {
        for c in textCases {
            let maxLength = c["max_src_length"] as! Int
            let preprocessor = TextPreprocessor(
                tokenizer: fullTokenizer, prompt: c["prompt"] as? String, maxSourceLength: maxLength)
            let hypothesis = c["hypothesis"] as! String
            let premise = c["premise"] as? String
            let prepared = try preprocessor(hypothesis: hypothesis, premise: premise)
            let label = "\(hypothesis.debugDescription) / \(String(describing: premise)) / \(maxLength)"
            #expect(
                CaptionCleaner.preCaption(hypothesis, maxWords: maxLength) == c["pre_caption"] as! String, "\(label)")
            #expect(prepared.text == c["text"] as! String, "\(label)")
            #expect(prepared.sourceIDs == c["source"] as! [Int], "\(label)")
            #expect(prepared.decoderIDs == c["decoder"] as! [Int], "\(label)")
        }
    }

    @Test("the spec's test vectors: hypothesis only and with a premise")
    func specVectors() throws {
        let preprocessor = TextPreprocessor(tokenizer: fullTokenizer)
        let one = try preprocessor(hypothesis: "there are two birds.")
        #expect(one.sourceIDs == [0, 473, 5, 2274, 6190, 22, 89, 32, 80, 7723, 4, 22, 116, 2])
        #expect(one.decoderIDs == Array(one.sourceIDs.dropLast()))
        let two = try preprocessor(hypothesis: "the two dogs are eating.", premise: "there are two dogs.")
        #expect(
            two.sourceIDs == [
                0, 64, 2274, 8, 2788, 134, 22, 89, 32, 80, 3678, 4, 22, 25696, 2788, 176, 22, 5,
                80, 3678, 32, 4441, 4, 22, 116, 2,
            ])
    }

    @Test("pre_caption follows Python: full lower-casing with final sigma, leading punctuation only, whitespace runs")
    func preCaption() {
        #expect(CaptionCleaner.preCaption("ΟΔΥΣΣΕΥΣ ΣΑ", maxWords: nil) == "οδυσσευς σα")
        #expect(CaptionCleaner.preCaption("İ", maxWords: nil) == "i\u{307}")
        #expect(CaptionCleaner.preCaption(",.!?Hi!!", maxWords: nil) == "hi!!")
        #expect(CaptionCleaner.preCaption("a\tb  c\n", maxWords: nil) == "a\tb c")
        #expect(CaptionCleaner.preCaption("a\u{1C}\u{1D}b", maxWords: nil) == "a b")
        #expect(CaptionCleaner.preCaption("one two three", maxWords: 2) == "one two")
    }

    @Test("a configured prompt with more fields than values is an error, not a crash")
    func badPrompt() {
        let preprocessor = TextPreprocessor(tokenizer: fullTokenizer, prompt: " {} and {} ")
        #expect(throws: PromptBuilder.Error.missingField(prompt: " {} and {} ", index: 1)) {
            try preprocessor(hypothesis: "x")
        }
        #expect(throws: PromptBuilder.Error.malformedPrompt(" { ")) {
            try TextPreprocessor(tokenizer: fullTokenizer, prompt: " { ")(hypothesis: "x")
        }
    }
}

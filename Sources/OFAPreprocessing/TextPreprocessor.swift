// (hypothesis, premise?) to encoder and decoder token ids, as modelscope's visual-entailment preprocessor with
// prompt_type "prev_output": ids = [bos] + bpe(prompt)[:max_src_length] + [eos]; decoder = ids without eos.

public struct PreparedText: Sendable, Equatable {
    /// The prompt text that was tokenized.
    public let text: String
    public let sourceIDs: [Int]
    public let decoderIDs: [Int]
    /// Indices into `sourceIDs` (0 = bos) of the tokens that hold the hypothesis's text: every token whose piece
    /// overlaps the cleaned hypothesis in the prompt. Empty when the prompt does not use the hypothesis or it was cut
    /// off at `max_src_length`.
    public let hypothesisTokens: Range<Int>
}

public struct TextPreprocessor: Sendable {
    public let tokenizer: BPETokenizer
    public let promptBuilder: PromptBuilder
    /// `max_src_length`: the most BPE tokens kept (and the word limit of pre_caption).
    public let maxSourceLength: Int

    public init(tokenizer: BPETokenizer, prompt: String? = nil, maxSourceLength: Int = 256) {
        precondition(maxSourceLength > 0, "maxSourceLength must be positive")
        self.tokenizer = tokenizer
        self.promptBuilder = PromptBuilder(prompt: prompt, maxWords: maxSourceLength)
        self.maxSourceLength = maxSourceLength
    }

    /// Throws only for a configured prompt that str.format would reject.
    public func callAsFunction(hypothesis: String, premise: String? = nil) throws -> PreparedText {
        let (text, field) = try promptBuilder.prompt(hypothesis: hypothesis, premise: premise)
        let (body, spans) = tokenizer.encodeWithSpans(text, maxLength: maxSourceLength)
        let ids = [tokenizer.bosID] + body + [tokenizer.eosID]
        var hypothesisTokens = 0..<0
        if let field, !field.isEmpty {
            let inside = spans.indices.filter { spans[$0].overlaps(field) }
            if let first = inside.first, let last = inside.last { hypothesisTokens = (first + 1)..<(last + 2) }
        }
        return PreparedText(
            text: text, sourceIDs: ids, decoderIDs: Array(ids.dropLast()), hypothesisTokens: hypothesisTokens)
    }
}

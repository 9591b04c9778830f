// (hypothesis, premise?) to encoder and decoder token ids, as modelscope's visual-entailment preprocessor with
// prompt_type "prev_output": ids = [bos] + bpe(prompt)[:max_src_length] + [eos]; decoder = ids without eos.

public struct PreparedText: Sendable, Equatable {
    /// The prompt text that was tokenized.
    public let text: String
    public let sourceIDs: [Int]
    public let decoderIDs: [Int]
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
        let text = try promptBuilder.source(hypothesis: hypothesis, premise: premise)
        let ids = [tokenizer.bosID] + tokenizer.encode(text, maxLength: maxSourceLength) + [tokenizer.eosID]
        return PreparedText(text: text, sourceIDs: ids, decoderIDs: Array(ids.dropLast()))
    }
}

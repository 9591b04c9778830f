// The visual-entailment source text: modelscope OfaVisualEntailmentPreprocessor's templates (or the
// configured `prompt`, used for both branches) filled with pre_caption'd text via Python str.format.

public struct PromptBuilder: Sendable {
    public static let hypothesisTemplate = " does the image describe \" {} \"?"
    public static let premiseTemplate = " can image and text1 \" {} \" imply text2 \" {} \"?"

    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// The configured prompt names more fields than there are values (Python raises IndexError).
        case missingField(prompt: String, index: Int)
        /// The prompt has an unmatched brace or a field str.format would not accept here.
        case malformedPrompt(String)

        public var description: String {
            switch self {
            case .missingField(let prompt, let index): return "prompt \(prompt.debugDescription) needs field \(index)"
            case .malformedPrompt(let prompt): return "malformed prompt \(prompt.debugDescription)"
            }
        }
    }

    /// `model.prompt` from the task configuration, replacing both templates when set.
    public let prompt: String?
    /// `max_src_length`: pre_caption keeps at most this many words.
    public let maxWords: Int

    public init(prompt: String? = nil, maxWords: Int = 256) {
        self.prompt = prompt
        self.maxWords = maxWords
    }

    /// A present premise (even empty) selects the premise template, as the presence of `text2` does.
    public func source(hypothesis: String, premise: String? = nil) throws -> String {
        try prompt(hypothesis: hypothesis, premise: premise).text
    }

    /// The source text and where the (cleaned) hypothesis lies in it, in Unicode scalars: its last occurrence,
    /// nil when the configured prompt does not use it.
    public func prompt(hypothesis: String, premise: String? = nil) throws -> (text: String, hypothesis: Range<Int>?) {
        let cleanedHypothesis = CaptionCleaner.preCaption(hypothesis, maxWords: maxWords)
        if let premise {
            let cleanedPremise = CaptionCleaner.preCaption(premise, maxWords: maxWords)
            let (text, fields) = try Self.format(prompt ?? Self.premiseTemplate, [cleanedPremise, cleanedHypothesis])
            return (text, fields[1])
        }
        let (text, fields) = try Self.format(prompt ?? Self.hypothesisTemplate, [cleanedHypothesis])
        return (text, fields[0])
    }

    /// Python str.format with positional fields only: `{}` (auto-numbered), `{0}`, `{{`, `}}`. Also returns where
    /// each value was last written (Unicode scalar offsets into the result), nil for a value never used.
    static func format(_ template: String, _ values: [String]) throws -> (String, [Range<Int>?]) {
        let s = Array(template.unicodeScalars)
        var out = String.UnicodeScalarView()
        var fields = [Range<Int>?](repeating: nil, count: values.count)
        var written = 0
        var next = 0
        var i = 0
        while i < s.count {
            let c = s[i]
            if c == "}" || (c == "{" && i + 1 < s.count && s[i + 1] == "{") {
                guard i + 1 < s.count, s[i + 1] == c else { throw Error.malformedPrompt(template) }
                out.append(c)
                written += 1
                i += 2
                continue
            }
            guard c == "{" else {
                out.append(c)
                written += 1
                i += 1
                continue
            }
            guard let close = s[(i + 1)...].firstIndex(of: "}") else { throw Error.malformedPrompt(template) }
            let field = String(String.UnicodeScalarView(s[(i + 1)..<close]))
            let index: Int
            if field.isEmpty {
                index = next
                next += 1
            } else if let explicit = Int(field), explicit >= 0 {
                index = explicit
            } else {
                throw Error.malformedPrompt(template)
            }
            guard index < values.count else { throw Error.missingField(prompt: template, index: index) }
            let value = values[index].unicodeScalars
            out.append(contentsOf: value)
            fields[index] = written..<(written + value.count)
            written += value.count
            i = close + 1
        }
        return (String(out), fields)
    }
}

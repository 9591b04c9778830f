// One hypothesis's verdict, as predict, attention and the explanation methods return it.

/// One hypothesis's verdict.
public struct Prediction: Codable, Sendable, Equatable {
    public var hypothesis: String
    /// "yes", "no" or "maybe".
    public var answer: String
    /// "entailment", "contradiction" or "neutral".
    public var label: String
    /// Probability of each answer ("yes", "no", "maybe"), summing to 1.
    public var probabilities: [String: Float]
    /// true for a bf16 close call: the top two answers were within `--close-call-margin`, so they were scored again
    /// on image features made with float32 convolution inputs, and this is that answer; absent otherwise.
    public var closeCall: Bool?

    public init(
        hypothesis: String, answer: String, label: String, probabilities: [String: Float], closeCall: Bool? = nil
    ) {
        self.hypothesis = hypothesis
        self.answer = answer
        self.label = label
        self.probabilities = probabilities
        self.closeCall = closeCall
    }

    enum CodingKeys: String, CodingKey {
        case hypothesis, answer, label, probabilities
        case closeCall = "close_call"
    }
}

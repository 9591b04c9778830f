// The wire's answer-specific explanations: the `relevance` method (image and token relevance per target), and the
// faithfulness report and token relevances that render and stats add.

/// One token's relevance to the answer row.
public struct TokenRelevance: Codable, Sendable, Equatable {
    /// Position in its sequence (source: 0 = bos).
    public var index: Int
    public var text: String
    public var relevance: Float
    /// Whether the token is one of the hypothesis's own.
    public var hypothesis: Bool

    public init(index: Int, text: String, relevance: Float, hypothesis: Bool) {
        self.index = index
        self.text = text
        self.relevance = relevance
        self.hypothesis = hypothesis
    }
}

/// One perturbation curve: the target answer's probability as patches are removed.
public struct FaithfulnessCurveInfo: Codable, Sendable, Equatable {
    public var fractions: [Double]
    /// Patches removed at each fraction.
    public var removed: [Int]
    public var probabilities: [Float]
    public var answerChanged: [Bool]
    /// Trapezoid area under the probabilities.
    public var area: Double

    public init(fractions: [Double], removed: [Int], probabilities: [Float], answerChanged: [Bool], area: Double) {
        self.fractions = fractions
        self.removed = removed
        self.probabilities = probabilities
        self.answerChanged = answerChanged
        self.area = area
    }

    enum CodingKeys: String, CodingKey {
        case fractions, removed, probabilities, area
        case answerChanged = "answer_changed"
    }
}

/// How far to trust a map: most-relevant-first removal should drop the target fast (a small positive area), least-
/// relevant-first should keep it (a large negative area).
public struct FaithfulnessReport: Codable, Sendable, Equatable {
    /// The answer whose probability the curves follow.
    public var target: String
    /// The unperturbed answer.
    public var answer: String
    public var positive: FaithfulnessCurveInfo
    public var negative: FaithfulnessCurveInfo

    public init(target: String, answer: String, positive: FaithfulnessCurveInfo, negative: FaithfulnessCurveInfo) {
        self.target = target
        self.answer = answer
        self.positive = positive
        self.negative = negative
    }
}

public struct RelevanceParams: Codable, Sendable, Equatable {
    public var image: ImageInput?
    /// Shorthand for `image: {"path": …}`.
    public var path: String?
    public var hypothesis: String
    public var premise: String?
    /// Answers ("yes"), contrasts ("yes-no") or "predicted"; default: the predicted answer.
    public var targets: [String]?

    public init(image: ImageInput, hypothesis: String, premise: String? = nil, targets: [String]? = nil) {
        self.image = image
        self.hypothesis = hypothesis
        self.premise = premise
        self.targets = targets
    }

    /// The image, whichever key carried it (nil when neither or both did).
    public var imageInput: ImageInput? { ImageInput.given(image: image, path: path) }
}

/// One target's relevance: the answer row of Chefer et al.'s R^de (image and source tokens) and R^dd (prompt).
public struct TargetRelevance: Codable, Sendable, Equatable {
    /// "yes", or "yes-no" for a contrast.
    public var target: String
    /// The target's logit (or logit difference).
    public var value: Float
    public var patchGrid: PatchGridSize
    /// Per patch, row-major.
    public var image: [Float]
    public var sourceTokens: [TokenRelevance]
    public var decoderTokens: [TokenRelevance]

    public init(
        target: String, value: Float, patchGrid: PatchGridSize, image: [Float], sourceTokens: [TokenRelevance],
        decoderTokens: [TokenRelevance]
    ) {
        self.target = target
        self.value = value
        self.patchGrid = patchGrid
        self.image = image
        self.sourceTokens = sourceTokens
        self.decoderTokens = decoderTokens
    }

    enum CodingKeys: String, CodingKey {
        case target, value, image
        case patchGrid = "patch_grid"
        case sourceTokens = "source_tokens"
        case decoderTokens = "decoder_tokens"
    }
}

public struct RelevanceMethodResult: Codable, Sendable, Equatable {
    public var prediction: Prediction
    public var targets: [TargetRelevance]
    public var timings: Timings

    public init(prediction: Prediction, targets: [TargetRelevance], timings: Timings) {
        self.prediction = prediction
        self.targets = targets
        self.timings = timings
    }
}

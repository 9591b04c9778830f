// What one (image, hypothesis, premise?) prediction returns.
import OFA

/// One answer with its label and restricted probability.
public struct AnswerProbability: Sendable, Equatable, Codable {
    /// The answer word, a key of answer2label ("yes", "no", "maybe").
    public let answer: String
    /// Its SNLI-VE label ("entailment", "contradiction", "neutral").
    public let label: String
    public let probability: Float
}

/// Where a prediction's time went, in seconds.
public struct PredictionTimings: Sendable, Equatable, Codable {
    /// Decode, resize and normalise the image; paid once per prepared image and repeated in each of its results.
    public let imagePreprocessSeconds: Double
    /// ResNet and patch embedding; once per prepared image, like imagePreprocessSeconds.
    public let backboneSeconds: Double
    /// Prompt and tokenisation of this hypothesis.
    public let textPreprocessSeconds: Double
    /// Encoder and decoder for this hypothesis (and a close call's second backbone and run).
    public let encoderDecoderSeconds: Double

    public var preprocessSeconds: Double { imagePreprocessSeconds + textPreprocessSeconds }
    public var totalSeconds: Double {
        imagePreprocessSeconds + backboneSeconds + textPreprocessSeconds + encoderDecoderSeconds
    }
}

public struct EntailmentResult: Sendable {
    /// The most probable answer (first on ties, as the reference's argmax).
    public let answer: String
    public let label: String
    /// Every answer, in answer2label order.
    public let probabilities: [AnswerProbability]
    /// The probability of `answer`: what modelscope's pipeline returns as `scores`.
    public let score: Float
    /// The prompt text that was tokenized.
    public let prompt: String
    /// `[bos] + BPE(prompt) + [eos]`, the text part of the encoder input.
    public let sourceTokens: [Int]
    /// The text of each source token (for labelling attention columns after the patches).
    public let tokenStrings: [String]
    /// Indices into `sourceTokens` of the hypothesis's own tokens (empty when none survived max_src_length).
    public let hypothesisTokens: Range<Int>
    /// The decoder prompt and the text of each of its tokens (attention rows of the decoder).
    public let decoderTokens: [Int]
    public let decoderTokenStrings: [String]
    /// Only what the request asked for; empty when it asked for none.
    public let attention: [AttentionProbabilities]
    public let geometry: AttentionGeometry
    /// Size of the upright image before resizing.
    public let originalWidth: Int
    public let originalHeight: Int
    /// A bfloat16 close call: these answers were scored again on float32-input image features
    /// (`VisualEntailmentPipeline.closeCallMargin`); the time of both runs is in the timings.
    public let closeCall: Bool
    public let timings: PredictionTimings
}

// The library entry point: image bytes + hypothesis (+ premise) → answer, probabilities and, when asked,
// attention, as modelscope's visual-entailment pipeline (traverse path) computes them.
import Foundation
import ImageIO
import OFA
import OFAPreprocessing

/// Immutable after init (all stored properties are Sendable lets); every request keeps its own state, so one
/// instance serves concurrent callers.
public final class VisualEntailmentPipeline: Sendable {
    public let model: OFAModel
    public let tokenizer: BPETokenizer
    public let imagePreprocessor: ImagePreprocessor
    public let textPreprocessor: TextPreprocessor
    let tokenDecoder: TokenDecoder
    private let threads: Int
    /// In bfloat16: answers whose top two probabilities are closer than this are scored again on float32-input
    /// image features (`OFAModel.classify`); 0 never does.
    public let closeCallMargin: Float
    private let closeCallCount = Counter()
    /// Close calls scored again so far; nil where there are none to count (not bf16, or a margin of 0).
    public var closeCalls: Int? {
        model.backend.precision == .bfloat16 && closeCallMargin > 0 ? closeCallCount.value : nil
    }

    /// Loads the model (strictly), tokenizer and task settings from a modelscope model directory, on a CPU backend.
    /// `threads` 0 uses every core; `pixelLimit` bounds decoded image size.
    /// `precision`: the CPU backend's arithmetic (refused with BackendError where this CPU does not offer it).
    public convenience init(
        modelDirectory: String, threads: Int = 0, precision: Precision = .float32,
        pixelLimit: Int = ImageDecoder.defaultPixelLimit, closeCallMargin: Float = CloseCall.defaultMargin
    ) throws {
        try self.init(
            modelDirectory: modelDirectory, backend: try CPUBackend(threads: threads, precision: precision),
            pixelLimit: pixelLimit, closeCallMargin: closeCallMargin)
    }

    /// The same on `backend`, which holds the weights and runs every request.
    public init(
        modelDirectory: String, backend: Backend, pixelLimit: Int = ImageDecoder.defaultPixelLimit,
        closeCallMargin: Float = CloseCall.defaultMargin
    ) throws {
        self.closeCallMargin = closeCallMargin
        model = try OFAModel(directory: modelDirectory, backend: backend)
        self.threads = backend.threads
        let directory = URL(fileURLWithPath: modelDirectory)
        tokenizer = try BPETokenizer(directory: directory)
        tokenDecoder = try TokenDecoder(directory: directory)
        let task = model.task
        imagePreprocessor = ImagePreprocessor(
            size: task.patchImageSize, mean: task.mean, std: task.standardDeviation, pixelLimit: pixelLimit)
        textPreprocessor = TextPreprocessor(
            tokenizer: tokenizer, prompt: task.prompt, maxSourceLength: task.maximumSourceLength)
        // A configured prompt that fails with two values (malformed, or naming a third field) fails every request.
        do { _ = try textPreprocessor.promptBuilder.source(hypothesis: "a", premise: "b") } catch {
            throw ConfigurationError.invalid(key: "model.prompt", reason: "\(error)")
        }
    }

    public var description: ModelDescription {
        ModelDescription(model: model, tokenizerSize: tokenizer.count, threads: threads)
    }

    /// Decode + resize + normalise + backbone, once per image; reusable across hypotheses and requests. Within
    /// `seconds`: decoding stops when they run out (ImageError.deadlinePassed), and the backbone does not start
    /// after them (PipelineError.deadlinePassed).
    public func prepare(imageBytes: [UInt8], seconds timeLimit: Double = .infinity) throws -> PreparedImageFeatures {
        let clock = ContinuousClock()
        let start = clock.now
        let image = try imagePreprocessor(imageBytes: imageBytes, seconds: timeLimit)
        let preprocessed = clock.now
        guard seconds(preprocessed - start) < timeLimit else { throw PipelineError.deadlinePassed }
        let features = model.imageFeatures(
            pixels: image.pixels, height: image.size, width: image.size, keepingForCloseCalls: closeCallMargin > 0)
        return PreparedImageFeatures(
            features: features, originalWidth: image.originalWidth, originalHeight: image.originalHeight,
            patchImageSize: image.size,
            preprocessSeconds: seconds(preprocessed - start), backboneSeconds: seconds(clock.now - preprocessed),
            model: model)
    }

    /// One hypothesis against a prepared image. A premise, even an empty one, selects the premise prompt.
    public func predict(
        image: PreparedImageFeatures, hypothesis: String, premise: String? = nil,
        attention: AttentionRequest? = nil
    ) throws -> EntailmentResult {
        let clock = ContinuousClock()
        let start = clock.now
        let text = try prepareText(hypothesis: hypothesis, premise: premise)
        return try predict(image: image, text: text, attention: attention, textSeconds: seconds(clock.now - start))
    }

    /// The prompt, its token ids and the hypothesis's place among them: what `predict(image:text:)` takes, for
    /// callers that name attention rows by token (encoder rows are `grid.count + token index`).
    public func prepareText(hypothesis: String, premise: String? = nil) throws -> PreparedText {
        try Self.validate(hypothesis: hypothesis)
        return try textPreprocessor(hypothesis: hypothesis, premise: premise)
    }

    /// One prepared text against a prepared image: the one entry point that runs the model (with attention
    /// recorded when asked).
    public func predict(
        image: PreparedImageFeatures, text: PreparedText, attention: AttentionRequest? = nil,
        textSeconds: Double = 0
    ) throws -> EntailmentResult {
        guard image.model === model else { throw PipelineError.imageFromAnotherModel }
        let clock = ContinuousClock()
        let decoderTokens = self.decoderTokens(for: text)
        let tokenized = clock.now
        let classification = try model.classify(
            image: image.features, sourceTokens: text.sourceIDs, decoderTokens: decoderTokens,
            answerTokens: model.answerTokens, attention: attention, closeCallMargin: closeCallMargin)
        let classified = clock.now
        if classification.closeCall { closeCallCount.add(1) }

        let answers = model.task.answers
        let probabilities = zip(answers, classification.probabilities).map {
            AnswerProbability(answer: $0, label: AnswerLabel.label(for: $0), probability: $1)
        }
        let best = probabilities[classification.best]
        return EntailmentResult(
            answer: best.answer, label: best.label, probabilities: probabilities, score: best.probability,
            prompt: text.text, sourceTokens: text.sourceIDs, tokenStrings: strings(text.sourceIDs),
            hypothesisTokens: text.hypothesisTokens,
            decoderTokens: decoderTokens, decoderTokenStrings: strings(decoderTokens),
            attention: classification.attention, geometry: classification.geometry,
            originalWidth: image.originalWidth, originalHeight: image.originalHeight,
            closeCall: classification.closeCall,
            timings: PredictionTimings(
                imagePreprocessSeconds: image.preprocessSeconds, backboneSeconds: image.backboneSeconds,
                textPreprocessSeconds: textSeconds,
                encoderDecoderSeconds: seconds(classified - tokenized)))
    }

    /// Several hypotheses against one image: prepares the image once, then predicts each in order.
    /// Hypotheses are checked before the image is decoded.
    public func predict(
        imageBytes: [UInt8], hypotheses: [String], premise: String? = nil,
        attention: AttentionRequest? = nil
    ) throws -> [EntailmentResult] {
        guard !hypotheses.isEmpty else { throw PipelineError.noHypotheses }
        for hypothesis in hypotheses { try Self.validate(hypothesis: hypothesis) }
        let image = try prepare(imageBytes: imageBytes)
        return try hypotheses.map { try predict(image: image, hypothesis: $0, premise: premise, attention: attention) }
    }

    static func validate(hypothesis: String) throws {
        if hypothesis.allSatisfy(\.isWhitespace) { throw PipelineError.emptyHypothesis }
    }

    /// The decoder prompt for a prepared text: the source without its eos (prompt_type prev_output), else bos.
    public func decoderTokens(for text: PreparedText) -> [Int] {
        model.task.promptType == .previousOutput ? text.decoderIDs : [tokenizer.bosID]
    }

    /// The text of each token id.
    public func strings(_ ids: [Int]) -> [String] {
        ids.map { tokenDecoder.text(of: $0) ?? "<\($0)>" }
    }

    private func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}

/// A count shared by concurrent requests.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    var value: Int { lock.withLock { count } }
    func add(_ amount: Int) { lock.withLock { count += amount } }
}

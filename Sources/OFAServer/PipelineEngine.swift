// The real engine: OFAPipeline's VisualEntailmentPipeline behind the daemon's InferenceEngine boundary, with
// every engine error mapped onto an EngineError (and so onto one wire code).
import ImageIO
import OFA
import OFAPipeline
import OFAPreprocessing
import OFAWire

public final class PipelineEngine: InferenceEngine {
    /// The loader ofad uses.
    public static let loader: EngineLoader = { options in try PipelineEngine(options: options) }

    /// One image after decoding and the backbone, as the daemon caches it.
    final class Features {
        let prepared: PreparedImageFeatures
        init(_ prepared: PreparedImageFeatures) { self.prepared = prepared }
    }

    public let pipeline: VisualEntailmentPipeline
    private let engineDescription: EngineDescription

    /// Loads the model directory strictly; its CheckpointError, ConfigurationError or TokenizerError passes
    /// through and names the culprit.
    public init(options: EngineOptions) throws {
        pipeline = try VisualEntailmentPipeline(
            modelDirectory: options.modelDirectory, threads: options.threads,
            pixelLimit: options.maximumImagePixels)
        let model = pipeline.description
        let image = pipeline.imagePreprocessor
        engineDescription = EngineDescription(
            architecture: model.description, modelDirectory: options.modelDirectory, device: "cpu",
            threads: model.threads,
            imageParameters:
                "\(model.directory)/\(model.weightsFile) \(model.resnetType) \(model.patchImageSize)px "
                + "mean \(image.mean) std \(image.std)",
            attentionLayout: AttentionLayout(
                encoderLayers: model.encoderLayers, decoderLayers: model.decoderLayers,
                encoderHeads: model.encoderAttentionHeads, decoderHeads: model.decoderAttentionHeads))
    }

    public func describe() -> EngineDescription { engineDescription }

    /// Decode, resize, normalise and the backbone: what the daemon's image cache saves.
    public func prepareImage(_ bytes: [UInt8]) throws -> PreparedImage {
        let prepared = try Self.mappingErrors { try pipeline.prepare(imageBytes: bytes) }
        return PreparedImage(payload: Features(prepared), byteCount: prepared.byteCount)
    }

    public func predict(image: PreparedImage, hypotheses: [String], premise: String?) throws -> [Prediction] {
        let features = try Self.features(of: image)
        return try Self.mappingErrors {
            try hypotheses.map { hypothesis in
                Self.prediction(
                    try pipeline.predict(image: features, hypothesis: hypothesis, premise: premise), hypothesis)
            }
        }
    }

    public func attention(image: PreparedImage, hypothesis: String, premise: String?, selection: AttentionSelection)
        throws -> (Prediction, [OFAWire.AttentionMap])
    {
        let features = try Self.features(of: image)
        let plan = try AttentionPlan(selection, model: pipeline.description)
        let result = try Self.mappingErrors {
            try pipeline.predict(image: features, hypothesis: hypothesis, premise: premise, attention: plan.request)
        }
        return (Self.prediction(result, hypothesis), try plan.maps(from: result))
    }

    public func record(image: PreparedImage, hypothesis: String, premise: String?, recording: AttentionRecording)
        throws -> RecordedAttention
    {
        let features = try Self.features(of: image)
        let grid = (rows: features.gridRows, columns: features.gridColumns)
        // The prompt is tokenized here too, to find the hypothesis's tokens (and the encoder rows to keep).
        let source = try Self.mappingErrors {
            try pipeline.textPreprocessor(hypothesis: hypothesis, premise: premise).sourceIDs
        }
        let hypothesisTokens = hypothesisTokenIndices(hypothesis, in: source)
        let rows: [Int]?
        switch recording.rows {
        case .all: rows = nil
        case .answer: rows = [-1]
        case .sourceTokens(let tokens):
            let tokens = tokens ?? hypothesisTokens
            if let token = tokens.first(where: { $0 < 0 || $0 >= source.count }) {
                throw EngineError.invalidInput(
                    "\"token\" \(token) is out of range: this prompt has \(source.count) source tokens (0 = bos)")
            }
            rows = tokens.map { grid.rows * grid.columns + $0 }
        }
        let request = AttentionRequest(
            kinds: Set(recording.kinds.map { AttentionRequest.Kind(rawValue: $0.rawValue)! }),
            layers: recording.layers, rows: rows)
        let result = try Self.mappingErrors {
            try pipeline.predict(image: features, hypothesis: hypothesis, premise: premise, attention: request)
        }
        return RecordedAttention(
            prediction: Self.prediction(result, hypothesis),
            tensors: result.attention.map {
                RecordedTensor(
                    kind: AttentionKind(rawValue: $0.kind.rawValue)!, layer: $0.layer, shape: $0.shape,
                    values: $0.values, rows: $0.rows)
            },
            grid: PatchGrid(rows: grid.rows, cols: grid.columns), sourceTokens: result.tokenStrings,
            hypothesisTokens: hypothesisTokens, imageWidth: result.originalWidth, imageHeight: result.originalHeight)
    }

    /// Where the hypothesis's own tokens lie in `source` ([bos] + prompt + [eos]): its last occurrence (after a
    /// premise), tokenized as the prompt holds it; every prompt token when it cannot be found (a custom prompt, or
    /// a hypothesis cut at max_src_length).
    func hypothesisTokenIndices(_ hypothesis: String, in source: [Int]) -> [Int] {
        let cleaned = CaptionCleaner.preCaption(hypothesis, maxWords: pipeline.textPreprocessor.maxSourceLength)
        let own = pipeline.tokenizer.encode(" " + cleaned)
        if !own.isEmpty, own.count <= source.count {
            for start in stride(from: source.count - own.count, through: 0, by: -1)
            where Array(source[start..<(start + own.count)]) == own {
                return Array(start..<(start + own.count))
            }
        }
        return Array(1..<max(1, source.count - 1))
    }

    private static func features(of image: PreparedImage) throws -> PreparedImageFeatures {
        guard let features = image.payload as? Features else {
            throw EngineError.failed("the prepared image was not made by this engine")
        }
        return features.prepared
    }

    static func prediction(_ result: EntailmentResult, _ hypothesis: String) -> Prediction {
        Prediction(
            hypothesis: hypothesis, answer: result.answer, label: result.label,
            probabilities: Dictionary(uniqueKeysWithValues: result.probabilities.map { ($0.answer, $0.probability) }))
    }

    private static func mappingErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw engineError(error)
        }
    }

    /// The EngineError (and so the wire code) of each error the pipeline can throw while serving.
    static func engineError(_ error: Error) -> EngineError {
        switch error {
        case let error as EngineError:
            return error
        case let error as ImageError:
            switch error {
            case .empty, .unsupportedFormat, .truncated, .corrupt, .unsupportedLayout, .zeroSize:
                return .imageUndecodable(error.description)
            case .tooManyPixels, .outOfMemory:
                return .inputTooLarge(error.description)
            case .encodingFailed:
                return .failed(error.description)
            }
        case let error as PipelineError:
            switch error {
            case .emptyHypothesis, .noHypotheses: return .invalidInput(error.description)
            case .imageFromAnotherModel: return .failed(error.description)
            }
        case let error as InputError:
            switch error {
            case .sequenceTooLong: return .inputTooLarge(error.description)
            case .emptySequence: return .invalidInput(error.description)
            case .tokenOutOfRange: return .failed(error.description)
            }
        default:
            return .failed("\(error)")
        }
    }
}

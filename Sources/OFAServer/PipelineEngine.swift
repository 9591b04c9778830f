// The real engine: OFAPipeline's VisualEntailmentPipeline (and OFAExplanation over it) behind the daemon's
// InferenceEngine boundary, with every engine error mapped onto an EngineError (and so onto one wire code).
import ImageIO
import OFA
import OFAExplanation
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
    let explainer: Explainer
    /// The CUDA backend when the engine runs on a GPU: its first failure is checked after every request.
    let gpu: CUDABackend?
    private let engineDescription: EngineDescription
    private let pixelLimit: Int

    /// Loads the model directory strictly; its CheckpointError, ConfigurationError or TokenizerError passes
    /// through and names the culprit.
    public convenience init(options: EngineOptions) throws {
        let backend: Backend
        if case .cuda(let ordinal) = options.device {
            backend = try CUDABackend.make(
                search: options.cudaSearch, ordinal: ordinal, precision: options.precision,
                cacheDirectory: options.kernelCacheDirectory, lanes: max(1, options.workers))
        } else {
            backend = try CPUBackend(threads: options.threads, precision: options.precision)
        }
        try self.init(options: options, backend: backend)
    }

    /// The engine on `backend` (options.device and options.precision are then only for its description).
    init(options: EngineOptions, backend: Backend) throws {
        gpu = backend as? CUDABackend
        // On a GPU every weight is carved from one arena.
        let load = {
            try VisualEntailmentPipeline(
                modelDirectory: options.modelDirectory, backend: backend, pixelLimit: options.maximumImagePixels,
                closeCallMargin: options.closeCallMargin)
        }
        pipeline = try gpu?.loadingWeights(load) ?? load()
        // The weights complete before any request's stream reads them.
        gpu?.synchronize()
        if let failure = gpu?.takeFailure() { throw failure }
        // What the weights took; ModelHost's warm-up query then runs on the GPU before READY, and a CUDA failure
        // in it fails the load.
        gpu?.report?.modelLoaded()
        explainer = Explainer(pipeline: pipeline)
        pixelLimit = options.maximumImagePixels
        let model = pipeline.description
        let image = pipeline.imagePreprocessor
        engineDescription = EngineDescription(
            architecture: model.description, modelDirectory: options.modelDirectory,
            device: gpu?.report.map { $0.summary(memory: $0.memory) } ?? "cpu",
            threads: model.threads,
            imageParameters:
                "\(model.directory)/\(model.weightsFile) \(model.resnetType) \(model.patchImageSize)px "
                + "mean \(image.mean) std \(image.std) \(backend.precision.rawValue)",
            model: explainer.modelShape, precision: backend.precision.rawValue)
    }

    /// The description, with the GPU's memory as it is now.
    public func describe() -> EngineDescription {
        var description = engineDescription
        description.closeCalls = pipeline.closeCalls
        if let report = gpu?.report {
            let memory = report.memory
            description.device = report.summary(memory: memory)
            let capability = report.device.computeCapability
            description.gpu = GPUStatus(
                ordinal: report.device.ordinal, name: report.device.name,
                computeCapability: "\(capability.major).\(capability.minor)", architecture: report.device.architecture,
                driverVersion: report.driverVersion, blasVersion: report.blasVersion,
                compilerVersion: report.compilerVersion, modelBytes: report.modelBytes, usedBytes: memory?.used,
                totalBytes: memory?.total, streams: report.streams)
        }
        return description
    }

    /// Decode, resize, normalise and the backbone: what the daemon's image cache saves.
    public func prepareImage(_ bytes: [UInt8], seconds: Double) throws -> EngineImage {
        let prepared = try mappingErrors { try pipeline.prepare(imageBytes: bytes, seconds: seconds) }
        return EngineImage(payload: Features(prepared), byteCount: prepared.byteCount)
    }

    public func predict(image: EngineImage, hypotheses: [String], premise: String?) throws -> [Prediction] {
        let features = try Self.features(of: image)
        return try mappingErrors {
            try hypotheses.map { hypothesis in
                Prediction(
                    try pipeline.predict(image: features, hypothesis: hypothesis, premise: premise),
                    hypothesis: hypothesis)
            }
        }
    }

    public func attention(image: EngineImage, hypothesis: String, premise: String?, selection: AttentionSelection)
        throws -> (Prediction, [AttentionMap])
    {
        let features = try Self.features(of: image)
        return try mappingErrors {
            try explainer.attention(image: features, hypothesis: hypothesis, premise: premise, selection: selection)
        }
    }

    public func explain(image: EngineImage, imageBytes: [UInt8], plan: RenderPlan, budget: WorkBudget) throws
        -> Explanation
    {
        let features = try Self.features(of: image)
        return try mappingErrors {
            try explainer.explain(
                image: features, imageBytes: imageBytes, plan: plan, pixelLimit: pixelLimit, budget: budget)
        }
    }

    public func relevance(image: EngineImage, params: RelevanceParams) throws -> (Prediction, [TargetRelevance]) {
        let features = try Self.features(of: image)
        return try mappingErrors { try explainer.relevance(image: features, params: params) }
    }

    private static func features(of image: EngineImage) throws -> PreparedImageFeatures {
        guard let features = image.payload as? Features else {
            throw EngineError.failed("the prepared image was not made by this engine")
        }
        return features.prepared
    }

    public var fault: String? {
        gpu?.fault.map { "the GPU cannot be used again until ofad restarts: \($0.description)" }
    }

    /// Runs a request's work (on a GPU, on a stream of its own): the pipeline's errors mapped, and a GPU failure
    /// during it reported on it. The GPU's failure wins over whatever the work threw after it, being its cause.
    private func mappingErrors<T>(_ body: () throws -> T) throws -> T {
        guard let gpu else { return try mapping(body) }
        let (result, failure) = gpu.withLane(body)
        if let failure { throw Self.engineError(failure) }
        return try mapping { try result.get() }
    }

    private func mapping<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ParameterError {
            throw error
        } catch {
            throw Self.engineError(error)
        }
    }

    /// The EngineError (and so the wire code) of each error the pipeline can throw while serving.
    static func engineError(_ error: Error) -> EngineError {
        switch error {
        case let error as EngineError:
            return error
        case let error as CUDAError:
            if case .outOfMemory = error { return .busy(error.description) }
            return .failed(error.description)
        case let error as ExplanationError:
            switch error {
            case .selectionOutOfRange: return .selectionOutOfRange(error.description)
            case .notRecorded, .cancelled: return .failed(error.description)
            case .timedOut: return .timedOut(error.description)
            }
        case let error as ImageError:
            switch error {
            case .empty, .unsupportedFormat, .truncated, .corrupt, .unsupportedLayout, .zeroSize:
                return .imageUndecodable(error.description)
            case .tooManyPixels, .tooManyScans, .outOfMemory:
                return .inputTooLarge(error.description)
            case .deadlinePassed:
                return .timedOut(error.description)
            case .encodingFailed:
                return .failed(error.description)
            }
        case let error as PipelineError:
            switch error {
            case .emptyHypothesis, .noHypotheses: return .invalidInput(error.description)
            case .imageFromAnotherModel: return .failed(error.description)
            case .deadlinePassed: return .timedOut(error.description)
            }
        case let error as InputError:
            switch error {
            case .sequenceTooLong: return .inputTooLarge(error.description)
            case .emptySequence, .targetOutOfRange, .windowOutsideGrid, .fractionOutOfRange, .mapSizeMismatch,
                .tokenNotDroppable:
                return .invalidInput(error.description)
            case .tokenOutOfRange: return .failed(error.description)
            }
        default:
            return .failed("\(error)")
        }
    }
}

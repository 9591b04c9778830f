// The daemon's only view of the model: a small protocol that the real adapter (PipelineEngine) and test
// doubles implement.
import OFA
import OFAExplanation
import OFAWire

/// What a loaded model says about itself.
public struct EngineDescription: Sendable, Equatable {
    /// One line, without file paths.
    public var architecture: String
    public var modelDirectory: String
    public var device: String
    public var threads: Int
    /// The arithmetic the engine runs in (fp32, bf16, …).
    public var precision: String
    /// Identifies what turns image bytes into features (model, resolution, normalisation); part of the
    /// image-cache key.
    public var imageParameters: String
    /// The model's shape, for status and for checking render and stats choices up front; nil: the engine draws no
    /// maps.
    public var model: ModelShape?
    /// The GPU, when the engine runs on one.
    public var gpu: GPUStatus?
    /// bf16 answers scored again as close calls so far (nil where there are none to count: fp32, or a margin of 0).
    public var closeCalls: Int?

    public init(
        architecture: String, modelDirectory: String, device: String, threads: Int, imageParameters: String,
        model: ModelShape? = nil, precision: String = Precision.float32.rawValue
    ) {
        self.precision = precision
        self.architecture = architecture
        self.modelDirectory = modelDirectory
        self.device = device
        self.threads = threads
        self.imageParameters = imageParameters
        self.model = model
    }
}

/// An image after decoding and the image backbone, ready for any number of hypotheses. Opaque to the daemon,
/// which caches it by image digest.
public struct EngineImage: @unchecked Sendable {
    /// The engine's own per-image state; immutable once made.
    public let payload: AnyObject
    /// Bytes the payload holds (its feature tensors): what keeping it in the image cache costs.
    public let byteCount: Int

    public init(payload: AnyObject, byteCount: Int) {
        self.payload = payload
        self.byteCount = byteCount
    }
}

/// Failures the engine reports; each maps to one wire error code.
public enum EngineError: Error, Equatable, CustomStringConvertible {
    case imageUndecodable(String)
    case inputTooLarge(String)
    case invalidInput(String)
    /// An attention layer, head or query position the model does not have.
    case selectionOutOfRange(String)
    case unavailable(String)
    /// The engine lacks the resources for this request now (a GPU out of memory); others may succeed.
    case busy(String)
    /// The request's time ran out while the engine worked on it.
    case timedOut(String)
    case failed(String)

    public var description: String {
        switch self {
        case .imageUndecodable(let why): return "image cannot be decoded: \(why)"
        case .inputTooLarge(let why): return "input too large: \(why)"
        case .invalidInput(let why): return "invalid input: \(why)"
        case .selectionOutOfRange(let why): return "attention selection out of range: \(why)"
        case .unavailable(let why): return "engine unavailable: \(why)"
        case .busy(let why): return "engine busy: \(why)"
        case .timedOut(let why): return "request timed out: \(why)"
        case .failed(let why): return "engine failed: \(why)"
        }
    }
}

/// Thread-safe: the daemon calls it from several worker threads at once.
public protocol InferenceEngine: Sendable {
    func describe() -> EngineDescription
    /// Decodes the image and runs the image backbone, within `seconds` (decoding stops when they run out:
    /// EngineError.timedOut).
    func prepareImage(_ bytes: [UInt8], seconds: Double) throws -> EngineImage
    /// One prediction per hypothesis, in order.
    func predict(image: EngineImage, hypotheses: [String], premise: String?) throws -> [Prediction]
    /// The prediction for one hypothesis with the attention `selection` asks for, in its kinds' order, then
    /// its layers' order.
    func attention(image: EngineImage, hypothesis: String, premise: String?, selection: AttentionSelection)
        throws -> (Prediction, [AttentionMap])
    /// render and stats: the maps (one forward pass for attention, more for relevance, occlusion and the
    /// faithfulness test), statistics and (unless the plan is for stats) the file. `imageBytes` are the image's file,
    /// for drawing on; work of many passes answers to `budget`.
    func explain(image: EngineImage, imageBytes: [UInt8], plan: RenderPlan, budget: WorkBudget) throws -> Explanation
    /// The relevance method: relevance of the image patches and tokens for each target.
    func relevance(image: EngineImage, params: RelevanceParams) throws -> (Prediction, [TargetRelevance])
    /// Why the engine can never serve again (its GPU's context was lost), once that has happened; nil while it can.
    var fault: String? { get }
}

extension InferenceEngine {
    /// Engines on the CPU never lose their device.
    public var fault: String? { nil }

    /// The loaded model's shape (nil: the engine draws no maps).
    public var model: ModelShape? { describe().model }

    /// Engines without raw attention (test doubles) refuse render and stats.
    public func explain(image: EngineImage, imageBytes: [UInt8], plan: RenderPlan, budget: WorkBudget) throws
        -> Explanation
    {
        throw EngineError.unavailable("this engine does not record attention for maps")
    }

    /// Engines without the model's gradients (test doubles) refuse relevance.
    public func relevance(image: EngineImage, params: RelevanceParams) throws -> (Prediction, [TargetRelevance]) {
        throw EngineError.unavailable("this engine computes no relevance")
    }
}

/// How the daemon asks for an engine: model directory, threads, device and image limit come from its
/// configuration.
public struct EngineOptions: Sendable, Equatable {
    public var modelDirectory: String
    public var threads: Int
    public var device: Device
    public var precision: Precision
    /// Largest image (width × height) the engine decodes.
    public var maximumImagePixels: Int
    /// Where a GPU backend finds CUDA's libraries and keeps its compiled kernels.
    public var cudaSearch: CUDASearchPath
    public var kernelCacheDirectory: String?
    /// Requests run at once (the daemon's workers): a GPU gets a stream for each.
    public var workers: Int
    /// bf16's close calls (`VisualEntailmentPipeline.closeCallMargin`).
    public var closeCallMargin: Float

    public init(
        modelDirectory: String, threads: Int, device: Device, maximumImagePixels: Int,
        precision: Precision = .float32, cudaSearch: CUDASearchPath = CUDASearchPath(),
        kernelCacheDirectory: String? = nil, workers: Int = 1, closeCallMargin: Float = CloseCall.defaultMargin
    ) {
        self.workers = workers
        self.closeCallMargin = closeCallMargin
        self.precision = precision
        self.cudaSearch = cudaSearch
        self.kernelCacheDirectory = kernelCacheDirectory
        self.modelDirectory = modelDirectory
        self.threads = threads
        self.device = device
        self.maximumImagePixels = maximumImagePixels
    }
}

public typealias EngineLoader = @Sendable (EngineOptions) throws -> any InferenceEngine

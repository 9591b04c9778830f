// ADAPTER: the real engine. Calls OFAPipeline.VisualEntailmentPipeline once that target lands on main;
// until then loading fails clearly and the daemon reports health "failed".
import OFAWire

public final class PipelineEngine: InferenceEngine {
    /// The loader ofad uses.
    public static let loader: EngineLoader = { options in try PipelineEngine(options: options) }

    private let options: EngineOptions

    public init(options: EngineOptions) throws {
        self.options = options
        throw EngineError.unavailable(
            "this ofad was built without the OFA pipeline (target OFAPipeline is not on main yet)")
    }

    public func describe() -> EngineDescription {
        EngineDescription(
            architecture: "OFA", modelDirectory: options.modelDirectory, device: options.device.rawValue,
            threads: options.threads, imageParameters: "")
    }

    public func prepareImage(_ bytes: [UInt8]) throws -> PreparedImage {
        throw EngineError.unavailable("no pipeline")
    }

    public func predict(image: PreparedImage, hypotheses: [String], premise: String?) throws -> [Prediction] {
        throw EngineError.unavailable("no pipeline")
    }

    public func attention(image: PreparedImage, hypothesis: String, premise: String?, selection: AttentionSelection)
        throws -> (Prediction, [AttentionMap])
    {
        throw EngineError.unavailable("no pipeline")
    }
}

// Why a pipeline request was refused before reaching the model (image, tokenizer and engine errors pass through).

public enum PipelineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The hypothesis is empty or only whitespace.
    case emptyHypothesis
    /// A request for several hypotheses named none.
    case noHypotheses
    /// The prepared image was made by a pipeline with another model.
    case imageFromAnotherModel
    /// The request's time ran out before the image backbone could start.
    case deadlinePassed

    public var description: String {
        switch self {
        case .emptyHypothesis: return "the hypothesis is empty"
        case .noHypotheses: return "no hypothesis was given"
        case .imageFromAnotherModel: return "the prepared image belongs to another model"
        case .deadlinePassed: return "the request's time ran out while preparing the image"
        }
    }
}

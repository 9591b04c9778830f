// Why an explanation could not be made after its parameters were accepted (ParameterError covers those).

public enum ExplanationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An attention layer, head or query position the model or this prompt does not have.
    case selectionOutOfRange(String)
    /// The forward pass did not keep what a map needs (a bug, not the request's fault).
    case notRecorded(String)

    public var description: String {
        switch self {
        case .selectionOutOfRange(let why): return why
        case .notRecorded(let what): return "the engine did not record \(what)"
        }
    }
}

// Why an explanation could not be made after its parameters were accepted (ParameterError covers those).

public enum ExplanationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An attention layer, head or query position the model or this prompt does not have.
    case selectionOutOfRange(String)
    /// The forward pass did not keep what a map needs (a bug, not the request's fault).
    case notRecorded(String)
    /// Work of many passes ran out of the request's time.
    case timedOut(String)
    /// The caller went away (its request was withdrawn); nothing to answer.
    case cancelled

    public var description: String {
        switch self {
        case .selectionOutOfRange(let why): return why
        case .notRecorded(let what): return "the engine did not record \(what)"
        case .timedOut(let why): return why
        case .cancelled: return "cancelled: the request was withdrawn"
        }
    }
}

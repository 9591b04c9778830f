// How the heads of one attention layer become one map.

public enum HeadFusion: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// One head, by the model's index.
    case head(Int)
    /// Element-wise mean over heads.
    case mean
    /// Element-wise maximum over heads.
    case max
    /// Element-wise minimum over heads (rollout's third option).
    case min

    /// Parses "mean", "max", "min" or a head index, as a command line spells it.
    public init?(_ text: String) {
        switch text.lowercased() {
        case "mean": self = .mean
        case "max": self = .max
        case "min": self = .min
        default:
            guard let head = Int(text), head >= 0 else { return nil }
            self = .head(head)
        }
    }

    public var description: String {
        switch self {
        case .head(let head): return "head \(head)"
        case .mean: return "mean"
        case .max: return "max"
        case .min: return "min"
        }
    }
}

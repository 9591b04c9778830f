// Why a map could not be built from the attention it was given; each case names the culprit.
import OFA

public enum MapError: Error, Equatable, Sendable, CustomStringConvertible {
    case valueCount(expected: Int, actual: Int)
    case rowOutOfRange(Int, queries: Int)
    case tokenOutOfRange(Int, tokens: Int)
    case noTokens
    case noLayers
    /// The attention has fewer keys (or rows) than the patch grid and text need.
    case keysMismatch(expected: Int, actual: Int)
    /// Maps on different grids cannot be combined.
    case gridMismatch(PatchGrid, PatchGrid)
    case discardRatioOutOfRange(Double)

    public var description: String {
        switch self {
        case .valueCount(let expected, let actual): return "attention has \(actual) values, its shape needs \(expected)"
        case .rowOutOfRange(let row, let queries): return "query row \(row) is out of range (\(queries) rows)"
        case .tokenOutOfRange(let token, let tokens): return "text token \(token) is out of range (\(tokens) tokens)"
        case .noTokens: return "no text tokens were selected"
        case .noLayers: return "no layers were given"
        case .keysMismatch(let expected, let actual):
            return "attention has \(actual) keys where the grid and text need \(expected)"
        case .gridMismatch(let a, let b): return "maps on a \(a) and a \(b) grid cannot be combined"
        case .discardRatioOutOfRange(let ratio): return "discard ratio \(ratio) is not in [0, 1)"
        }
    }
}

// Every render / stats option once: its wire key, the values it takes, its default and its help text. The daemon
// validates with it (RenderSettings), ofa-web checks what the page sends with it, ofactl's help comes from it.

public struct ExplanationParameter: Sendable, CustomStringConvertible {
    /// The values a parameter takes.
    public enum Domain: Sendable {
        case choice([String])
        /// A number in `range`; `upperExclusive`: the upper bound itself is refused.
        case number(ClosedRange<Double>, upperExclusive: Bool)
        case integer(ClosedRange<Int>)
        case flag
        /// A list of layer indices (negative from the end) or "all"; checked against the model later.
        case layers
        /// "mean", "max", "min" or a head index; checked against the model later.
        case heads
        /// An answer ("yes"), two answers' contrast ("yes-no") or "predicted"; checked against the model later.
        case target
    }

    /// As the wire spells it ("discard_ratio"); the command line uses `optionName` ("discard-ratio").
    public let key: String
    public let domain: Domain
    /// The default as text, for help and docs.
    public let defaultText: String
    public let summary: String

    public var optionName: String { key.replacingOccurrences(of: "_", with: "-") }
    /// e.g. "Gaussian smoothing, sigma in patches, in [0, 64]. [0]".
    public var help: String { "\(summary)\(rangeText.map { ", \($0)" } ?? ""). [\(defaultText)]" }
    public var description: String { key }

    /// The values as text: "one of a, b", "in [0, 1)".
    public var rangeText: String? {
        switch domain {
        case .choice(let names): return "one of " + names.joined(separator: ", ")
        case .number(let range, let open):
            return "in [\(Self.text(range.lowerBound)), \(Self.text(range.upperBound))\(open ? ")" : "]")"
        case .integer(let range): return "in [\(range.lowerBound), \(range.upperBound)]"
        case .flag, .layers, .heads, .target: return nil
        }
    }

    /// Checks a number against the domain.
    public func check(_ value: Double) throws {
        switch domain {
        case .number(let range, let open):
            guard value.isFinite, range.contains(value), !(open && value == range.upperBound) else {
                throw ParameterError(key, "\(Self.text(value)) is not \(rangeText!)")
            }
        case .integer(let range):
            guard value.rounded() == value else {
                throw ParameterError(key, "\(Self.text(value)) is not a whole number")
            }
            guard value >= Double(range.lowerBound), value <= Double(range.upperBound) else {
                throw ParameterError(key, "\(Self.text(value)) is not \(rangeText!)")
            }
        default: preconditionFailure("\(key) is not numeric")
        }
    }

    /// Checks a name against a choice domain.
    public func check(_ name: String) throws {
        guard case .choice(let names) = domain else { preconditionFailure("\(key) is not a choice") }
        guard names.contains(name) else { throw ParameterError(key, "\"\(name)\" is not \(rangeText!)") }
    }

    static func text(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

extension ExplanationParameter {
    public static let output = ExplanationParameter(
        key: "output", domain: .choice(MapOutput.allCases.map(\.rawValue)), defaultText: "overlay",
        summary: "What to return: overlay (PNG), grid (PNG, a cell per layer), animation (GIF) or npy (raw maps)")
    public static let source = ExplanationParameter(
        key: "source", domain: .choice(MapSource.allCases.map(\.rawValue)), defaultText: "cross",
        summary:
            "cross (decoder cross-attention from the answer), encoder (text→image), rollout, relevance (gradient-"
            + "weighted, answer-specific) or occlusion (masking windows of patches)")
    public static let target = ExplanationParameter(
        key: "target", domain: .target, defaultText: "predicted",
        summary:
            "relevance, occlusion, faithfulness: the answer explained (yes, no, maybe), a contrast of two (yes-no: "
            + "logit difference) or predicted")
    public static let window = ExplanationParameter(
        key: "window", domain: .integer(1...64), defaultText: "3",
        summary: "occlusion: side of the masked square, in patches")
    public static let stride = ExplanationParameter(
        key: "stride", domain: .integer(1...64), defaultText: "the window", summary: "occlusion: step between windows")
    public static let measure = ExplanationParameter(
        key: "measure", domain: .choice(MeasureName.allCases.map(\.rawValue)), defaultText: "probability",
        summary: "occlusion: the drop measured in the target answer's probability or in the target's logit")
    public static let faithfulness = ExplanationParameter(
        key: "faithfulness", domain: .choice(FaithfulnessChoice.allCases.map(\.rawValue)), defaultText: "none",
        summary:
            "Perturbation test of the map: remove patches most (positive) and least (negative) relevant first, at "
            + "4 fractions (fast) or 9 (full), and report the target's probability curves and their areas")
    public static let token = ExplanationParameter(
        key: "token", domain: .integer(0...65_535), defaultText: "the hypothesis's tokens",
        summary: "encoder source: the source token (0 = bos) whose attention is drawn")
    public static let fusion = ExplanationParameter(
        key: "fusion", domain: .choice(HeadFusionName.allCases.map(\.rawValue)), defaultText: "mean",
        summary: "rollout: how heads are fused per encoder layer")
    public static let discardRatio = ExplanationParameter(
        key: "discard_ratio", domain: .number(0...1, upperExclusive: true), defaultText: "0",
        summary: "rollout: share of the smallest fused weights zeroed per layer")
    public static let layers = ExplanationParameter(
        key: "layers", domain: .layers, defaultText: "the last layer for an overlay, all otherwise",
        summary: "Layers: indices (negative counts from the end) or all")
    public static let heads = ExplanationParameter(
        key: "heads", domain: .heads, defaultText: "mean", summary: "Heads: mean, max, min or a head index")
    public static let colormap = ExplanationParameter(
        key: "colormap", domain: .choice(ColormapName.allCases.map(\.rawValue)), defaultText: "jet",
        summary: "Colormap")
    public static let alpha = ExplanationParameter(
        key: "alpha", domain: .number(0...1, upperExclusive: false), defaultText: "0.5", summary: "Heatmap opacity")
    public static let smoothing = ExplanationParameter(
        key: "smoothing", domain: .number(0...64, upperExclusive: false), defaultText: "0",
        summary: "Gaussian smoothing, sigma in patches")
    public static let temperature = ExplanationParameter(
        key: "temperature", domain: .number(0.001...1000, upperExclusive: false), defaultText: "1",
        summary: "Temperature; below 1 sharpens")
    public static let colorbar = ExplanationParameter(
        key: "colorbar", domain: .flag, defaultText: "false", summary: "Add a colorbar")
    public static let maxSide = ExplanationParameter(
        key: "max_side", domain: .integer(16...4096), defaultText: "2048 overlay, 320 grid cell, 1024 animation",
        summary: "Longest side in pixels of the image, each grid cell or each frame")
    public static let columns = ExplanationParameter(
        key: "columns", domain: .integer(1...64), defaultText: "about square", summary: "grid: cells per row")
    public static let sharedScale = ExplanationParameter(
        key: "shared_scale", domain: .flag, defaultText: "false",
        summary: "grid, animation: one colour scale for every layer")
    public static let frameDelayMs = ExplanationParameter(
        key: "frame_delay_ms", domain: .integer(10...60_000), defaultText: "500",
        summary: "animation: milliseconds per frame")
    public static let loop = ExplanationParameter(
        key: "loop", domain: .integer(0...65_535), defaultText: "0", summary: "animation: repeats, 0 forever")
    public static let focusThreshold = ExplanationParameter(
        key: "focus_threshold", domain: .number(0...1, upperExclusive: false), defaultText: "0.5",
        summary: "statistics: the min-max level counted as focus")
    public static let topK = ExplanationParameter(
        key: "top_k", domain: .integer(0...1000), defaultText: "5", summary: "statistics: how many top patches to list")

    /// Every render / stats option, in the order docs list them.
    public static let all: [ExplanationParameter] = [
        output, source, token, fusion, discardRatio, target, window, stride, measure, faithfulness, layers, heads,
        colormap, alpha, smoothing, temperature, colorbar, maxSide, columns, sharedScale, frameDelayMs, loop,
        focusThreshold, topK,
    ]

    public static func named(_ key: String) -> ExplanationParameter? { all.first { $0.key == key } }
}

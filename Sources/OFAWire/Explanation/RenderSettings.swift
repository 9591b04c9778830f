// render / stats options checked against ExplanationParameter's table and turned into typed values. What depends on
// the model (layer and head counts, the prompt's token count) is checked where the model is known.

public struct RenderSettings: Sendable, Equatable {
    /// The most pixels one output may hold (all grid cells, or all animation frames, together).
    public static let maximumOutputPixels = 64_000_000

    public var output: MapOutput
    public var source: MapSource
    /// encoder: one source token's row (0 = bos); nil: the mean over the hypothesis's tokens.
    public var token: Int?
    /// rollout: head fusion per encoder layer, and the share of the smallest weights dropped.
    public var fusion: HeadFusionName
    public var discardRatio: Double
    /// relevance, occlusion, faithfulness: the target as sent ("yes", "yes-no"); nil: the predicted answer.
    public var target: String?
    /// occlusion: window side and stride in patches, and what is measured.
    public var window: Int
    public var stride: Int
    public var measure: MeasureName
    public var faithfulness: FaithfulnessChoice
    /// Unresolved: nil is the last layer for an overlay, every layer otherwise (and for stats).
    public var layers: LayerChoice?
    public var heads: HeadChoice
    public var colormap: ColormapName
    public var alpha: Double
    public var smoothing: Double
    public var temperature: Double
    public var colorbar: Bool
    public var maxSide: Int
    public var columns: Int?
    public var sharedScale: Bool
    public var frameDelayMilliseconds: Int
    /// 0: forever.
    public var loop: Int
    public var focusThreshold: Double
    public var topK: Int

    /// Every option checked and defaulted; the first refused one is named.
    public init(_ params: RenderParams) throws {
        typealias P = ExplanationParameter
        func choice<T: RawRepresentable>(_ text: String?, _ parameter: P, _ fallback: T) throws -> T
        where T.RawValue == String {
            guard let text else { return fallback }
            try parameter.check(text)
            return T(rawValue: text)!
        }
        func number(_ value: Double?, _ parameter: P, _ fallback: Double) throws -> Double {
            guard let value else { return fallback }
            try parameter.check(value)
            return value
        }
        func integer(_ value: Int?, _ parameter: P, _ fallback: Int) throws -> Int {
            guard let value else { return fallback }
            try parameter.check(Double(value))
            return value
        }
        output = try choice(params.output, P.output, MapOutput.overlay)
        source = try choice(params.source, P.source, MapSource.cross)
        if params.token != nil && source != .encoder {
            throw ParameterError("token", "applies to source \"encoder\" only")
        }
        token = try params.token.map { try integer($0, P.token, 0) }
        if source != .rollout && (params.fusion != nil || params.discardRatio != nil) {
            throw ParameterError(
                params.fusion != nil ? "fusion" : "discard_ratio", "applies to source \"rollout\" only")
        }
        fusion = try choice(params.fusion, P.fusion, HeadFusionName.mean)
        discardRatio = try number(params.discardRatio, P.discardRatio, 0)
        faithfulness = try choice(params.faithfulness, P.faithfulness, FaithfulnessChoice.none)
        if params.target != nil && source.isAttention && faithfulness == .none {
            throw ParameterError("target", "applies to sources \"relevance\" and \"occlusion\", or with faithfulness")
        }
        if let target = params.target, target.isEmpty || target.count > 64 {
            throw ParameterError("target", "must be an answer, two answers joined by \"-\", or \"predicted\"")
        }
        target = params.target == "predicted" ? nil : params.target
        if source != .occlusion,
            let key = params.window != nil
                ? "window"
                : params.stride != nil
                    ? "stride"
                    : params.measure != nil ? "measure" : nil
        {
            throw ParameterError(key, "applies to source \"occlusion\" only")
        }
        window = try integer(params.window, P.window, 3)
        stride = try integer(params.stride, P.stride, window)
        measure = try choice(params.measure, P.measure, MeasureName.probability)
        if !source.isAttention, let key = params.layers != nil ? "layers" : params.heads != nil ? "heads" : nil {
            throw ParameterError(
                key, "applies to attention sources (cross, encoder, rollout): \(source.rawValue) is one map")
        }
        layers = params.layers
        if case .list(let list)? = layers, list.isEmpty {
            throw ParameterError("layers", "is empty (give indices or \"all\")")
        }
        heads = params.heads ?? .fusion(.mean)
        if case .index(let head) = heads, head < 0 { throw ParameterError("heads", "\(head) is negative") }
        colormap = try choice(params.colormap, P.colormap, ColormapName.jet)
        alpha = try number(params.alpha, P.alpha, 0.5)
        smoothing = try number(params.smoothing, P.smoothing, 0)
        temperature = try number(params.temperature, P.temperature, 1)
        colorbar = params.colorbar ?? false
        maxSide = try integer(params.maxSide, P.maxSide, output.defaultMaximumSide)
        columns = try params.columns.map { try integer($0, P.columns, 1) }
        sharedScale = params.sharedScale ?? false
        frameDelayMilliseconds = try integer(params.frameDelayMs, P.frameDelayMs, 500)
        loop = try integer(params.loop, P.loop, 0)
        focusThreshold = try number(params.focusThreshold, P.focusThreshold, 0.5)
        topK = try integer(params.topK, P.topK, 5)
    }

    /// The layers drawn, from 0, for a part with `count` layers; `forStats`: nil means every layer.
    public func resolvedLayers(count: Int, forStats: Bool) throws -> [Int] {
        let fallback: LayerChoice = forStats || output != .overlay ? .all : .list([-1])
        return try (layers ?? fallback).resolved(count: count, part: source.part)
    }
}

extension JSONValue {
    /// Decodes request parameters, naming the parameter a type or value error is in.
    public func decodeParameters<T: Decodable>(_ type: T.Type) throws -> T {
        func path(_ codingPath: [CodingKey]) -> String { codingPath.map(\.stringValue).joined(separator: ".") }
        do {
            return try decode(T.self)
        } catch let DecodingError.keyNotFound(key, context) {
            throw ParameterError(path(context.codingPath + [key]), "is missing")
        } catch let DecodingError.typeMismatch(type, context) {
            throw ParameterError(path(context.codingPath), "has the wrong type (expected \(Self.typeName(type)))")
        } catch let DecodingError.dataCorrupted(context) {
            throw ParameterError(path(context.codingPath), context.debugDescription)
        } catch let DecodingError.valueNotFound(_, context) {
            throw ParameterError(path(context.codingPath), "is null")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type: return "a whole number"
        case is Double.Type, is Float.Type: return "a number"
        default: return "\(type)".lowercased()
        }
    }
}

// A render or stats request checked against the model and turned into typed choices: which maps, how they are
// drawn, and the one recording the engine is asked for. Every rejection names its parameter.
import OFAWire
import Visualize

struct RenderPlan {
    enum Output: String, CaseIterable {
        case overlay, grid, animation, npy
    }

    enum Source: String, CaseIterable {
        /// Decoder cross-attention from the answer position.
        case cross
        /// Encoder attention from text tokens to the patches.
        case encoder
        /// Encoder rollout seen from the answer's cross-attention.
        case rollout
    }

    static let maximumSide = 4096
    /// Most pixels one output may hold (all grid cells, or all animation frames, together).
    static let maximumOutputPixels = 64_000_000
    static let maximumSmoothing = 64.0
    static let maximumColumns = 64
    static let maximumTopK = 1000
    static let frameDelayRange = 10...60_000
    static let loopRange = 0...65_535

    let image: ImageInput
    let hypothesis: String
    let premise: String?
    let output: Output
    let source: Source
    /// Encoder source: one token's row; nil: the mean over the hypothesis's tokens.
    let token: Int?
    /// Rollout: head fusion per encoder layer and discard ratio.
    let rolloutFusion: HeadFusion
    let discardRatio: Double
    /// Layers drawn, from 0, in the requested order (decoder layers for cross and rollout, encoder for encoder).
    let layers: [Int]
    let heads: HeadFusion
    let options: RenderOptions
    /// Longest side of the image, of each grid cell, or of each frame.
    let maxSide: Int
    let columns: Int?
    let sharedScale: Bool
    let frameDelayMilliseconds: Int
    let loop: GIFLoop
    let focusThreshold: Double
    let topK: Int

    /// `forStats`: layers default to all, as for a grid.
    init(_ params: RenderParams, layout: AttentionLayout, forStats: Bool) throws {
        guard let image = params.imageInput else {
            throw Self.invalid("give the image as exactly one of \"image\" ({\"data\"} or {\"path\"}) and \"path\"")
        }
        self.image = image
        hypothesis = params.hypothesis
        premise = params.premise
        output = try Self.choice(params.output, "output", default: .overlay)
        source = try Self.choice(params.source, "source", default: .cross)

        if params.token != nil && source != .encoder {
            throw Self.invalid("\"token\" applies to source \"encoder\" only")
        }
        if let token = params.token, token < 0 {
            throw Self.invalid("\"token\" \(token) is negative (source tokens count from 0 = bos)")
        }
        token = params.token
        if source != .rollout && (params.fusion != nil || params.discardRatio != nil) {
            throw Self.invalid("\"fusion\" and \"discard_ratio\" apply to source \"rollout\" only")
        }
        let fusionName = params.fusion ?? "mean"
        guard let fusion = HeadFusion(fusionName), fusion == .mean || fusion == .max || fusion == .min else {
            throw Self.invalid("unknown \"fusion\" \"\(fusionName)\" (mean, max, min)")
        }
        rolloutFusion = fusion
        discardRatio = params.discardRatio ?? 0
        guard discardRatio >= 0 && discardRatio < 1 else {
            throw Self.invalid("\"discard_ratio\" \(discardRatio) is not in [0, 1)")
        }

        let (part, layerCount, headCount) =
            source == .encoder
            ? ("encoder", layout.encoderLayers, layout.encoderHeads)
            : ("decoder", layout.decoderLayers, layout.decoderHeads)
        let defaultAll = forStats || output != .overlay
        layers = try Self.layers(params.layers ?? (defaultAll ? .all : .list([-1])), part, layerCount)
        heads = try Self.heads(params.heads ?? .fusion("mean"), part, headCount)

        let colormapName = params.colormap ?? "jet"
        guard let colormap = Colormap.named(colormapName) else {
            throw Self.invalid(
                "unknown \"colormap\" \"\(colormapName)\" (\(Colormap.all.map(\.name).joined(separator: ", ")))")
        }
        let alpha = params.alpha ?? 0.5
        guard alpha >= 0 && alpha <= 1 else { throw Self.invalid("\"alpha\" \(alpha) is not in [0, 1]") }
        let smoothing = params.smoothing ?? 0
        guard smoothing >= 0 && smoothing <= Self.maximumSmoothing else {
            throw Self.invalid("\"smoothing\" \(smoothing) is not in [0, \(Self.maximumSmoothing)] (sigma in patches)")
        }
        let temperature = params.temperature ?? 1
        guard temperature > 0 && temperature.isFinite else {
            throw Self.invalid("\"temperature\" \(temperature) must be positive")
        }
        options = RenderOptions(
            colormap: colormap, alpha: Float(alpha), smoothingSigma: smoothing, temperature: temperature,
            colorbar: params.colorbar ?? false)

        maxSide = params.maxSide ?? Self.defaultMaximumSide(output)
        guard maxSide >= 16 && maxSide <= Self.maximumSide else {
            throw Self.invalid("\"max_side\" \(maxSide) is not in [16, \(Self.maximumSide)]")
        }
        columns = params.columns
        if let columns, columns < 1 || columns > Self.maximumColumns {
            throw Self.invalid("\"columns\" \(columns) is not in [1, \(Self.maximumColumns)]")
        }
        sharedScale = params.sharedScale ?? false
        frameDelayMilliseconds = params.frameDelayMs ?? 500
        guard Self.frameDelayRange.contains(frameDelayMilliseconds) else {
            throw Self.invalid(
                "\"frame_delay_ms\" \(frameDelayMilliseconds) is not in "
                    + "[\(Self.frameDelayRange.lowerBound), \(Self.frameDelayRange.upperBound)]")
        }
        let loopCount = params.loop ?? 0
        guard Self.loopRange.contains(loopCount) else {
            throw Self.invalid("\"loop\" \(loopCount) is not in [0, \(Self.loopRange.upperBound)] (0: forever)")
        }
        loop = loopCount == 0 ? .forever : .count(loopCount)
        focusThreshold = params.focusThreshold ?? 0.5
        guard focusThreshold >= 0 && focusThreshold <= 1 else {
            throw Self.invalid("\"focus_threshold\" \(focusThreshold) is not in [0, 1]")
        }
        topK = params.topK ?? 5
        guard topK >= 0 && topK <= Self.maximumTopK else {
            throw Self.invalid("\"top_k\" \(topK) is not in [0, \(Self.maximumTopK)]")
        }
    }

    /// What the engine records: only the rows and layers the maps read.
    var recording: AttentionRecording {
        switch source {
        case .cross: return AttentionRecording(kinds: [.cross], layers: Set(layers), rows: .answer)
        case .encoder:
            return AttentionRecording(kinds: [.encoder], layers: Set(layers), rows: .sourceTokens(token.map { [$0] }))
        case .rollout: return AttentionRecording(kinds: [.encoder, .cross], layers: nil, rows: .all)
        }
    }

    /// Overlay: the photo's size up to 2048 px; grid: 320 px cells; animation: frames up to 1024 px.
    static func defaultMaximumSide(_ output: Output) -> Int {
        switch output {
        case .overlay, .npy: return 2048
        case .grid: return 320
        case .animation: return 1024
        }
    }

    static func invalid(_ message: String) -> RPCError {
        RPCError(code: RPCErrorCode.invalidParams, message: "invalid params: \(message)")
    }

    private static func choice<T: RawRepresentable & CaseIterable>(_ text: String?, _ key: String, default: T) throws
        -> T where T.RawValue == String
    {
        guard let text else { return `default` }
        guard let value = T(rawValue: text) else {
            let names = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw invalid("unknown \"\(key)\" \"\(text)\" (\(names))")
        }
        return value
    }

    private static func layers(_ choice: LayerChoice, _ part: String, _ count: Int) throws -> [Int] {
        guard case .list(let list) = choice else { return Array(0..<count) }
        guard !list.isEmpty else { throw invalid("\"layers\" is empty (give indices or \"all\")") }
        var seen = Set<Int>()
        var layers: [Int] = []
        for layer in list {
            let index = layer < 0 ? count + layer : layer
            guard index >= 0 && index < count else {
                throw invalid("layer \(layer) is out of range: the \(part) has \(count) layers (\(-count)…\(count - 1))")
            }
            if seen.insert(index).inserted { layers.append(index) }
        }
        return layers
    }

    private static func heads(_ choice: HeadChoice, _ part: String, _ count: Int) throws -> HeadFusion {
        switch choice {
        case .index(let head):
            guard head >= 0 && head < count else {
                throw invalid("head \(head) is out of range: the \(part) has \(count) heads (0…\(count - 1))")
            }
            return .head(head)
        case .fusion(let name):
            guard let fusion = HeadFusion(name), fusion == .mean || fusion == .max || fusion == .min else {
                throw invalid("unknown \"heads\" \"\(name)\" (mean, max, min or a head index)")
            }
            return fusion
        }
    }
}

// The words of the explanation contract: which map, how it is drawn, what comes out. ofad, ofactl and ofa-web all
// spell these through these types; the ranges and defaults of every option are in ExplanationParameter.

/// Where a map comes from.
public enum MapSource: String, CaseIterable, Codable, Sendable {
    /// Decoder cross-attention from the answer-predicting row to the image patches.
    case cross
    /// Encoder self-attention from text tokens (the hypothesis's, or one token) to the patches.
    case encoder
    /// Encoder attention rollout seen from the answer's cross-attention.
    case rollout
    /// Answer relevance (Chefer et al. 2021): gradient-weighted attention through every layer, for a target.
    case relevance
    /// The drop in the target when a window of patches is masked, window by window.
    case occlusion

    /// Which part of the model the `layers` and `heads` of this source count in.
    public var part: ModelPart { self == .encoder ? .encoder : .decoder }

    /// Whether the map is one per layer of raw attention (layers and heads apply), or of the whole model.
    public var isAttention: Bool { self == .cross || self == .encoder || self == .rollout }
}

/// How the faithfulness of a map is tested (render and stats): not at all, 4 steps, or the paper's 9.
public enum FaithfulnessChoice: String, CaseIterable, Codable, Sendable {
    case none, fast, full
}

/// What an occlusion or faithfulness pass reads: the target answer's probability or the target's logit.
public enum MeasureName: String, CaseIterable, Codable, Sendable {
    case probability, logit
}

/// The encoder or the decoder (for layer and head counts).
public enum ModelPart: String, Sendable {
    case encoder, decoder
}

/// What a render returns.
public enum MapOutput: String, CaseIterable, Codable, Sendable {
    /// One PNG: the map (the mean over the layers drawn) over the image.
    case overlay
    /// One PNG: one cell per layer.
    case grid
    /// An animated GIF: one frame per layer.
    case animation
    /// The raw maps as NumPy .npy, [layers, rows, cols] float32.
    case npy

    /// Overlay: the photo up to 2048 px; grid: 320 px cells; animation: frames up to 1024 px.
    public var defaultMaximumSide: Int {
        switch self {
        case .overlay, .npy: return 2048
        case .grid: return 320
        case .animation: return 1024
        }
    }
}

/// matplotlib colormaps Visualize draws with.
public enum ColormapName: String, CaseIterable, Codable, Sendable {
    case jet, viridis, inferno, gray
}

/// How the heads of a layer are fused without naming one head.
public enum HeadFusionName: String, CaseIterable, Codable, Sendable {
    case mean, max, min
}

/// `layers`: a list of indices (negative counts from the end) or "all".
public enum LayerChoice: Codable, Sendable, Equatable {
    case all
    case list([Int])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self), text == "all" {
            self = .all
        } else if let one = try? container.decode(Int.self) {
            self = .list([one])
        } else if let list = try? container.decode([Int].self) {
            self = .list(list)
        } else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "expected a list of ints or \"all\""))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .all: try container.encode("all")
        case .list(let layers): try container.encode(layers)
        }
    }

    /// Parses a command line's "all" or "3,-1".
    public init?(text: String) {
        if text == "all" {
            self = .all
            return
        }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard !parts.isEmpty, !parts.contains(nil) else { return nil }
        self = .list(parts.compactMap { $0 })
    }

    /// Layer indices from 0, in the requested order without repeats, for a part with `count` layers.
    public func resolved(count: Int, part: ModelPart) throws -> [Int] {
        guard case .list(let list) = self else { return Array(0..<count) }
        guard !list.isEmpty else { throw ParameterError("layers", "is empty (give indices or \"all\")") }
        var seen = Set<Int>()
        var layers: [Int] = []
        for layer in list {
            let index = layer < 0 ? count + layer : layer
            guard index >= 0 && index < count else {
                throw ParameterError(
                    "layers",
                    "\(layer) is out of range: the \(part.rawValue) has \(count) layers (\(-count)…\(count - 1))")
            }
            if seen.insert(index).inserted { layers.append(index) }
        }
        return layers
    }
}

/// `heads`: "mean", "max", "min", or one head's index.
public enum HeadChoice: Codable, Sendable, Equatable, CustomStringConvertible {
    case fusion(HeadFusionName)
    case index(Int)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let index = try? container.decode(Int.self) {
            self = .index(index)
            return
        }
        let text = try container.decode(String.self)
        guard let choice = HeadChoice(text: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "expected mean, max, min or a head index"))
        }
        self = choice
    }

    /// Parses "mean", "max", "min" or a head index.
    public init?(text: String) {
        if let fusion = HeadFusionName(rawValue: text) {
            self = .fusion(fusion)
        } else if let index = Int(text) {
            self = .index(index)
        } else {
            return nil
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .fusion(let name): try container.encode(name.rawValue)
        case .index(let index): try container.encode(index)
        }
    }

    public var description: String {
        switch self {
        case .fusion(let name): return name.rawValue
        case .index(let index): return String(index)
        }
    }

    /// Checks a head index against a part with `count` heads.
    public func checked(count: Int, part: ModelPart) throws -> HeadChoice {
        if case .index(let head) = self, head < 0 || head >= count {
            throw ParameterError(
                "heads", "\(head) is out of range: the \(part.rawValue) has \(count) heads (0…\(count - 1))")
        }
        return self
    }
}

/// A parameter the contract refuses, named as the wire spells it.
public struct ParameterError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The wire key ("discard_ratio").
    public let key: String
    public let message: String

    public init(_ key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    /// e.g. `"discard_ratio" 1.5 is not in [0, 1)`.
    public var description: String { "\"\(key)\" \(message)" }
}

// Parameters and results of `render` (a heatmap image, grid, animation or .npy) and `stats` (map statistics).
// Choices travel as plain strings and numbers; the daemon checks them and names the parameter it rejects.
import Foundation

/// `layers`: a list of indices (negative counts from the end) or "all".
public enum LayerChoice: Codable, Sendable, Equatable {
    case all
    case list([Int])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard text == "all" else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "expected a list of ints or \"all\""))
            }
            self = .all
        } else if let one = try? container.decode(Int.self) {
            self = .list([one])
        } else {
            self = .list(try container.decode([Int].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .all: try container.encode("all")
        case .list(let layers): try container.encode(layers)
        }
    }
}

/// `heads`: "mean", "max", "min", or one head's index.
public enum HeadChoice: Codable, Sendable, Equatable, CustomStringConvertible {
    case fusion(String)
    case index(Int)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let index = try? container.decode(Int.self) {
            self = .index(index)
        } else {
            let text = try container.decode(String.self)
            self = Int(text).map(HeadChoice.index) ?? .fusion(text)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .fusion(let name): try container.encode(name)
        case .index(let index): try container.encode(index)
        }
    }

    public var description: String {
        switch self {
        case .fusion(let name): return name
        case .index(let index): return String(index)
        }
    }
}

/// Shared by `render` and `stats`. Every key but the image and the hypothesis is optional; docs/protocol.md
/// lists the defaults.
public struct RenderParams: Codable, Sendable, Equatable {
    public var image: ImageInput?
    /// Shorthand for `image: {"path": …}`.
    public var path: String?
    public var hypothesis: String
    public var premise: String?
    /// "overlay" (default), "grid", "animation", "npy".
    public var output: String?
    /// "cross" (default), "encoder", "rollout".
    public var source: String?
    /// `source: "encoder"`: the source-token index (0 = bos) whose row is drawn; nil: the hypothesis's tokens.
    public var token: Int?
    /// `source: "rollout"`: share of the smallest fused weights zeroed per layer, in [0, 1).
    public var discardRatio: Double?
    /// `source: "rollout"`: how heads are fused per encoder layer ("mean", "max", "min").
    public var fusion: String?
    public var layers: LayerChoice?
    public var heads: HeadChoice?
    public var colormap: String?
    public var alpha: Double?
    /// Gaussian sigma in patches.
    public var smoothing: Double?
    public var temperature: Double?
    public var colorbar: Bool?
    /// Longest side of the image drawn (overlay), of each cell (grid) or of each frame (animation).
    public var maxSide: Int?
    /// Grid cells per row.
    public var columns: Int?
    /// One colour scale for every layer of a grid or animation.
    public var sharedScale: Bool?
    public var frameDelayMs: Int?
    /// Animation repeats: 0 forever, n the NETSCAPE2.0 count.
    public var loop: Int?
    /// Statistics: the min-max level counted as focus, in [0, 1].
    public var focusThreshold: Double?
    /// Statistics: how many top patches to list.
    public var topK: Int?

    public init(image: ImageInput, hypothesis: String, premise: String? = nil) {
        self.image = image
        self.hypothesis = hypothesis
        self.premise = premise
    }

    enum CodingKeys: String, CodingKey {
        case image, path, hypothesis, premise, output, source, token, fusion, layers, heads, colormap, alpha
        case smoothing, temperature, colorbar, columns, loop
        case discardRatio = "discard_ratio"
        case maxSide = "max_side"
        case sharedScale = "shared_scale"
        case frameDelayMs = "frame_delay_ms"
        case focusThreshold = "focus_threshold"
        case topK = "top_k"
    }

    /// The image, whichever key carried it (nil when neither or both did).
    public var imageInput: ImageInput? {
        switch (image, path) {
        case (let image?, nil): return image
        case (nil, let path?): return ImageInput(path: path)
        default: return nil
        }
    }
}

/// Which method made a map, with its parameters and the processing after it (Visualize's MapMethod).
public struct MapMethodInfo: Codable, Sendable, Equatable {
    /// "cross_attention", "encoder_text_to_image", "rollout_cross", "rollout_tokens".
    public var name: String
    public var parameters: [String: String]
    public var steps: [String]
    /// One line: `name(key=value, …) | step | …`.
    public var text: String

    public init(name: String, parameters: [String: String], steps: [String], text: String) {
        self.name = name
        self.parameters = parameters
        self.steps = steps
        self.text = text
    }
}

/// Statistics of one drawn layer's map; positions in original-image pixels.
public struct LayerStatistics: Codable, Sendable, Equatable {
    public struct TopPatch: Codable, Sendable, Equatable {
        public var row: Int
        public var col: Int
        public var value: Double
        /// [x0, y0, x1, y1], x1 and y1 exclusive.
        public var box: [Double]

        public init(row: Int, col: Int, value: Double, box: [Double]) {
            self.row = row
            self.col = col
            self.value = value
            self.box = box
        }
    }

    public var layer: Int
    public var mean: Double
    public var max: Double
    public var min: Double
    public var std: Double
    /// Nats, of the map as a distribution over patches.
    public var entropy: Double
    /// Entropy divided by ln(patch count).
    public var normalizedEntropy: Double
    /// Share of the image whose min-max value is at least the focus threshold.
    public var focusArea: Double
    /// [x, y].
    public var centerOfMass: [Double]
    public var topK: [TopPatch]

    public init(
        layer: Int, mean: Double, max: Double, min: Double, std: Double, entropy: Double, normalizedEntropy: Double,
        focusArea: Double, centerOfMass: [Double], topK: [TopPatch]
    ) {
        self.layer = layer
        self.mean = mean
        self.max = max
        self.min = min
        self.std = std
        self.entropy = entropy
        self.normalizedEntropy = normalizedEntropy
        self.focusArea = focusArea
        self.centerOfMass = centerOfMass
        self.topK = topK
    }

    enum CodingKeys: String, CodingKey {
        case layer, mean, max, min, std, entropy
        case normalizedEntropy = "normalized_entropy"
        case focusArea = "focus_area"
        case centerOfMass = "center_of_mass"
        case topK = "top_k"
    }
}

public struct RenderResult: Codable, Sendable, Equatable {
    /// "png", "gif" or "npy".
    public var format: String
    public var data: BinaryBytes
    /// Pixels of the PNG or GIF; for npy the patch grid's columns and rows.
    public var width: Int
    public var height: Int
    /// GIF frames, or the first dimension of the npy array ([layers, rows, cols]).
    public var frames: Int?
    /// The layers drawn, in order.
    public var layers: [Int]
    public var method: MapMethodInfo
    public var prediction: Prediction
    /// One entry per layer drawn, in order.
    public var statistics: [LayerStatistics]
    public var timings: Timings

    public init(
        format: String, data: [UInt8], width: Int, height: Int, frames: Int?, layers: [Int], method: MapMethodInfo,
        prediction: Prediction, statistics: [LayerStatistics], timings: Timings
    ) {
        self.format = format
        self.data = BinaryBytes(data)
        self.width = width
        self.height = height
        self.frames = frames
        self.layers = layers
        self.method = method
        self.prediction = prediction
        self.statistics = statistics
        self.timings = timings
    }
}

public struct StatsResult: Codable, Sendable, Equatable {
    public var method: MapMethodInfo
    public var prediction: Prediction
    /// The patch grid the statistics were computed on, and the original image size.
    public var patchGrid: PatchGrid
    public var imageWidth: Int
    public var imageHeight: Int
    public var statistics: [LayerStatistics]
    public var timings: Timings

    public init(
        method: MapMethodInfo, prediction: Prediction, patchGrid: PatchGrid, imageWidth: Int, imageHeight: Int,
        statistics: [LayerStatistics], timings: Timings
    ) {
        self.method = method
        self.prediction = prediction
        self.patchGrid = patchGrid
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        self.statistics = statistics
        self.timings = timings
    }

    enum CodingKeys: String, CodingKey {
        case method, prediction, statistics, timings
        case patchGrid = "patch_grid"
        case imageWidth = "image_width"
        case imageHeight = "image_height"
    }
}

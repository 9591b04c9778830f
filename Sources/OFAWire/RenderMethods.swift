// Parameters and results of `render` (a heatmap image, grid, animation or .npy) and `stats` (map statistics).
// Choices travel as plain strings and numbers; RenderSettings checks them and names the parameter it rejects.
import Foundation

/// Shared by `render` and `stats`. Every key but the image and the hypothesis is optional.
public struct RenderParams: Codable, Sendable, Equatable {
    public var image: ImageInput?
    /// Shorthand for `image: {"path": …}`.
    public var path: String?
    public var hypothesis: String
    public var premise: String?
    // The options as sent; ExplanationParameter gives each one's values and default, RenderSettings checks them.
    public var output: String?
    public var source: String?
    public var token: Int?
    public var discardRatio: Double?
    public var fusion: String?
    public var target: String?
    public var window: Int?
    public var stride: Int?
    public var measure: String?
    public var faithfulness: String?
    public var layers: LayerChoice?
    public var heads: HeadChoice?
    public var colormap: String?
    public var alpha: Double?
    public var smoothing: Double?
    public var temperature: Double?
    public var colorbar: Bool?
    public var maxSide: Int?
    public var columns: Int?
    public var sharedScale: Bool?
    public var frameDelayMs: Int?
    public var loop: Int?
    public var focusThreshold: Double?
    public var topK: Int?

    public init(image: ImageInput, hypothesis: String, premise: String? = nil) {
        self.image = image
        self.hypothesis = hypothesis
        self.premise = premise
    }

    enum CodingKeys: String, CodingKey {
        case image, path, hypothesis, premise, output, source, token, fusion, target, window, stride, measure
        case faithfulness, layers, heads, colormap, alpha
        case smoothing, temperature, colorbar, columns, loop
        case discardRatio = "discard_ratio"
        case maxSide = "max_side"
        case sharedScale = "shared_scale"
        case frameDelayMs = "frame_delay_ms"
        case focusThreshold = "focus_threshold"
        case topK = "top_k"
    }

    /// The image, whichever key carried it (nil when neither or both did).
    public var imageInput: ImageInput? { ImageInput.given(image: image, path: path) }
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
    /// With `faithfulness` fast or full: the map's perturbation test.
    public var faithfulness: FaithfulnessReport?
    /// Source relevance: each source token's share of the answer row.
    public var tokens: [TokenRelevance]?
    public var timings: Timings

    public init(
        format: String, data: [UInt8], width: Int, height: Int, frames: Int?, layers: [Int], method: MapMethodInfo,
        prediction: Prediction, statistics: [LayerStatistics], faithfulness: FaithfulnessReport? = nil,
        tokens: [TokenRelevance]? = nil, timings: Timings
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
        self.faithfulness = faithfulness
        self.tokens = tokens
        self.timings = timings
    }
}

public struct StatsResult: Codable, Sendable, Equatable {
    public var method: MapMethodInfo
    public var prediction: Prediction
    /// The patch grid the statistics were computed on, and the original image size.
    public var patchGrid: PatchGridSize
    public var imageWidth: Int
    public var imageHeight: Int
    public var statistics: [LayerStatistics]
    public var faithfulness: FaithfulnessReport?
    public var tokens: [TokenRelevance]?
    public var timings: Timings

    public init(
        method: MapMethodInfo, prediction: Prediction, patchGrid: PatchGridSize, imageWidth: Int, imageHeight: Int,
        statistics: [LayerStatistics], faithfulness: FaithfulnessReport? = nil, tokens: [TokenRelevance]? = nil,
        timings: Timings
    ) {
        self.method = method
        self.prediction = prediction
        self.patchGrid = patchGrid
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        self.statistics = statistics
        self.faithfulness = faithfulness
        self.tokens = tokens
        self.timings = timings
    }

    enum CodingKeys: String, CodingKey {
        case method, prediction, statistics, faithfulness, tokens, timings
        case patchGrid = "patch_grid"
        case imageWidth = "image_width"
        case imageHeight = "image_height"
    }
}

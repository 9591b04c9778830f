// What render and stats ask the engine to record in their one forward pass, and the raw attention that comes
// back: plain arrays with their shapes, the patch grid, the source tokens and the hypothesis's place among them.
import OFAWire

/// The model's attention layout, for checking layer and head choices before a request is queued.
public struct AttentionLayout: Sendable, Equatable {
    public var encoderLayers: Int
    public var decoderLayers: Int
    public var encoderHeads: Int
    public var decoderHeads: Int

    public init(encoderLayers: Int, decoderLayers: Int, encoderHeads: Int, decoderHeads: Int) {
        self.encoderLayers = encoderLayers
        self.decoderLayers = decoderLayers
        self.encoderHeads = encoderHeads
        self.decoderHeads = decoderHeads
    }
}

/// Only what the maps need: the kinds, the layers, and the query rows.
public struct AttentionRecording: Sendable, Equatable {
    public enum Rows: Sendable, Equatable {
        /// Every query row (rollout needs the whole encoder matrix).
        case all
        /// The last row: for cross attention the row that predicts the answer.
        case answer
        /// Encoder rows of these source tokens (0 = bos); nil: the hypothesis's tokens.
        case sourceTokens([Int]?)
    }

    public var kinds: Set<AttentionKind>
    /// Layer indices; nil: every layer.
    public var layers: Set<Int>?
    public var rows: Rows

    public init(kinds: Set<AttentionKind>, layers: Set<Int>?, rows: Rows) {
        self.kinds = kinds
        self.layers = layers
        self.rows = rows
    }
}

/// One layer's probabilities, `[heads, rows.count, keys]` row-major, every head.
public struct RecordedTensor: Sendable {
    public let kind: AttentionKind
    public let layer: Int
    public let shape: [Int]
    public let values: [Float]
    /// The absolute query positions of the rows kept.
    public let rows: [Int]

    public init(kind: AttentionKind, layer: Int, shape: [Int], values: [Float], rows: [Int]) {
        self.kind = kind
        self.layer = layer
        self.shape = shape
        self.values = values
        self.rows = rows
    }
}

public struct RecordedAttention: Sendable {
    public let prediction: Prediction
    public let tensors: [RecordedTensor]
    /// Encoder positions 0..<rows·cols are the patches (row-major), then the source tokens.
    public let grid: PatchGrid
    /// The text of each source token (0 = bos).
    public let sourceTokens: [String]
    /// Source-token indices of the hypothesis within the prompt.
    public let hypothesisTokens: [Int]
    /// The upright image's size before resizing: what maps are drawn over.
    public let imageWidth: Int
    public let imageHeight: Int

    public init(
        prediction: Prediction, tensors: [RecordedTensor], grid: PatchGrid, sourceTokens: [String],
        hypothesisTokens: [Int], imageWidth: Int, imageHeight: Int
    ) {
        self.prediction = prediction
        self.tensors = tensors
        self.grid = grid
        self.sourceTokens = sourceTokens
        self.hypothesisTokens = hypothesisTokens
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
    }
}

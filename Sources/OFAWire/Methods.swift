// Parameters and results of ofad's methods, as Codable types shared by the daemon and its clients.
import Foundation

public enum Method {
    public static let health = "health"
    public static let status = "status"
    public static let predict = "predict"
    public static let attention = "attention"
    public static let metrics = "metrics"
    public static let render = "render"
    public static let stats = "stats"
    public static let relevance = "relevance"
    public static let all = [health, status, predict, attention, render, stats, relevance, metrics]
}

/// The image of a request: bytes (base64 in JSON) or a path under one of the daemon's allowed roots.
public struct ImageInput: Codable, Sendable, Equatable {
    public var data: BinaryBytes?
    public var path: String?

    public init(bytes: [UInt8]) { self.data = BinaryBytes(bytes) }
    public init(path: String) { self.path = path }

    /// A request's image given as `image` or as a top-level `path` shorthand: nil when neither or both are.
    public static func given(image: ImageInput?, path: String?) -> ImageInput? {
        switch (image, path) {
        case (let image?, nil): return image
        case (nil, let path?): return ImageInput(path: path)
        default: return nil
        }
    }
}

/// Raw bytes carried as base64.
public struct BinaryBytes: Codable, Sendable, Equatable {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not base64"))
        }
        bytes = Array(data)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Data(bytes).base64EncodedString())
    }
}

public struct PredictParams: Codable, Sendable, Equatable {
    public var image: ImageInput
    /// One hypothesis, or several in `hypotheses` (exactly one of the two).
    public var hypothesis: String?
    public var hypotheses: [String]?
    public var premise: String?

    public init(image: ImageInput, hypotheses: [String], premise: String? = nil) {
        self.image = image
        if hypotheses.count == 1 { self.hypothesis = hypotheses[0] } else { self.hypotheses = hypotheses }
        self.premise = premise
    }

    /// The hypotheses in request order, whichever key carried them.
    public var allHypotheses: [String] { hypotheses ?? hypothesis.map { [$0] } ?? [] }
}

public enum AttentionKind: String, Codable, Sendable, CaseIterable {
    case encoder
    case decoderSelf = "decoder_self"
    case cross
}

/// Which attention to record.
public struct AttentionSelection: Codable, Sendable, Equatable {
    public var kinds: [AttentionKind]
    /// Layer indices (0-based); nil means the last layer.
    public var layers: [Int]?
    /// Head indices; nil means all heads (or their mean when `headMean`).
    public var heads: [Int]?
    public var headMean: Bool
    /// Query position to keep (nil: all). Negative counts from the end: −1 is the last row, which for cross
    /// and decoder self-attention is the row that predicts the answer.
    public var queryPosition: Int?

    public init(
        kinds: [AttentionKind] = [.cross], layers: [Int]? = nil, heads: [Int]? = nil, headMean: Bool = false,
        queryPosition: Int? = nil
    ) {
        self.kinds = kinds
        self.layers = layers
        self.heads = heads
        self.headMean = headMean
        self.queryPosition = queryPosition
    }

    enum CodingKeys: String, CodingKey {
        case kinds, layers, heads
        case headMean = "head_mean"
        case queryPosition = "query_position"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kinds = try container.decodeIfPresent([AttentionKind].self, forKey: .kinds) ?? [.cross]
        layers = try container.decodeIfPresent([Int].self, forKey: .layers)
        heads = try container.decodeIfPresent([Int].self, forKey: .heads)
        headMean = try container.decodeIfPresent(Bool.self, forKey: .headMean) ?? false
        queryPosition = try container.decodeIfPresent(Int.self, forKey: .queryPosition)
    }
}

public struct AttentionParams: Codable, Sendable, Equatable {
    public var image: ImageInput
    public var hypothesis: String
    public var premise: String?
    public var attention: AttentionSelection

    public init(image: ImageInput, hypothesis: String, premise: String? = nil, attention: AttentionSelection) {
        self.image = image
        self.hypothesis = hypothesis
        self.premise = premise
        self.attention = attention
    }

    enum CodingKeys: String, CodingKey { case image, hypothesis, premise, attention }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        image = try container.decode(ImageInput.self, forKey: .image)
        hypothesis = try container.decode(String.self, forKey: .hypothesis)
        premise = try container.decodeIfPresent(String.self, forKey: .premise)
        attention = try container.decodeIfPresent(AttentionSelection.self, forKey: .attention) ?? AttentionSelection()
    }
}

/// Where a request's time went, in milliseconds.
public struct Timings: Codable, Sendable, Equatable {
    public var queueMs: Double
    public var imageMs: Double
    public var modelMs: Double
    public var totalMs: Double
    /// Whether the image features came from the daemon's cache.
    public var imageCached: Bool
    /// render and stats: building the maps, drawing and encoding, after the forward pass.
    public var renderMs: Double?

    public init(
        queueMs: Double = 0, imageMs: Double = 0, modelMs: Double = 0, totalMs: Double = 0,
        imageCached: Bool = false, renderMs: Double? = nil
    ) {
        self.queueMs = queueMs
        self.imageMs = imageMs
        self.modelMs = modelMs
        self.totalMs = totalMs
        self.imageCached = imageCached
        self.renderMs = renderMs
    }

    enum CodingKeys: String, CodingKey {
        case queueMs = "queue_ms"
        case imageMs = "image_ms"
        case modelMs = "model_ms"
        case totalMs = "total_ms"
        case imageCached = "image_cached"
        case renderMs = "render_ms"
    }
}

public struct PredictResult: Codable, Sendable, Equatable {
    public var predictions: [Prediction]
    public var timings: Timings

    public init(predictions: [Prediction], timings: Timings) {
        self.predictions = predictions
        self.timings = timings
    }
}

/// The patch grid's size as the wire carries it ("patch_grid": {"rows", "cols"}).
public struct PatchGridSize: Codable, Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
    }
}

/// One recorded attention map. `values` has shape [heads (1 when head_mean), queries, keys]; `query_tokens`
/// and `key_tokens` name its rows and columns (image patches as `<img_N>`, row-major in `patch_grid`).
public struct AttentionMap: Codable, Sendable, Equatable {
    public var kind: AttentionKind
    public var layer: Int
    /// The heads kept, or nil when `values` holds their mean.
    public var heads: [Int]?
    /// The query row kept, counted from 0 (nil when all rows are).
    public var queryPosition: Int?
    public var values: FloatArray
    /// Geometry of the image patches among the keys (encoder and cross attention).
    public var patchGrid: PatchGridSize?
    public var queryTokens: [String]
    public var keyTokens: [String]

    public init(
        kind: AttentionKind, layer: Int, heads: [Int]?, queryPosition: Int?, values: FloatArray,
        patchGrid: PatchGridSize?, queryTokens: [String], keyTokens: [String]
    ) {
        self.kind = kind
        self.layer = layer
        self.heads = heads
        self.queryPosition = queryPosition
        self.values = values
        self.patchGrid = patchGrid
        self.queryTokens = queryTokens
        self.keyTokens = keyTokens
    }

    enum CodingKeys: String, CodingKey {
        case kind, layer, heads, values
        case queryPosition = "query_position"
        case patchGrid = "patch_grid"
        case queryTokens = "query_tokens"
        case keyTokens = "key_tokens"
    }
}

public struct AttentionResult: Codable, Sendable, Equatable {
    public var prediction: Prediction
    public var maps: [AttentionMap]
    public var timings: Timings

    public init(prediction: Prediction, maps: [AttentionMap], timings: Timings) {
        self.prediction = prediction
        self.maps = maps
        self.timings = timings
    }
}

public enum HealthState: String, Codable, Sendable {
    case loading, ready, failed
}

public struct HealthResult: Codable, Sendable, Equatable {
    public var state: HealthState
    public var detail: String?
    public var uptimeSeconds: Double
    /// Where the engine runs ("cpu", or the GPU with its memory); nil before the model has loaded.
    public var device: String?

    public init(state: HealthState, detail: String?, uptimeSeconds: Double, device: String? = nil) {
        self.state = state
        self.detail = detail
        self.uptimeSeconds = uptimeSeconds
        self.device = device
    }

    enum CodingKeys: String, CodingKey {
        case state, detail, device
        case uptimeSeconds = "uptime_seconds"
    }
}

public struct LatencySummary: Codable, Sendable, Equatable {
    public var count: Int
    public var p50Ms: Double
    public var p90Ms: Double
    public var p99Ms: Double
    public var maxMs: Double

    public init(count: Int, p50Ms: Double, p90Ms: Double, p99Ms: Double, maxMs: Double) {
        self.count = count
        self.p50Ms = p50Ms
        self.p90Ms = p90Ms
        self.p99Ms = p99Ms
        self.maxMs = maxMs
    }

    enum CodingKeys: String, CodingKey {
        case count
        case p50Ms = "p50_ms"
        case p90Ms = "p90_ms"
        case p99Ms = "p99_ms"
        case maxMs = "max_ms"
    }
}

public struct CacheStatistics: Codable, Sendable, Equatable {
    public var entries: Int
    /// Most entries, for a cache bounded by entries (the result cache).
    public var capacity: Int?
    /// Bytes held and the most it may hold, for a cache bounded by bytes (the image cache).
    public var bytes: Int?
    public var byteLimit: Int?
    public var hits: Int
    public var misses: Int
    public var evictions: Int

    public init(
        entries: Int, capacity: Int? = nil, bytes: Int? = nil, byteLimit: Int? = nil, hits: Int, misses: Int,
        evictions: Int
    ) {
        self.entries = entries
        self.capacity = capacity
        self.bytes = bytes
        self.byteLimit = byteLimit
        self.hits = hits
        self.misses = misses
        self.evictions = evictions
    }

    enum CodingKeys: String, CodingKey {
        case entries, capacity, bytes, hits, misses, evictions
        case byteLimit = "byte_limit"
    }
}

public struct StatusResult: Codable, Sendable, Equatable {
    public var version: String
    public var state: HealthState
    public var modelDirectory: String
    /// SHA-256 over the model directory's files (nil while still being computed).
    public var modelChecksum: String?
    public var architecture: String
    /// The model's shape (nil until it is loaded).
    public var model: ModelShape?
    public var device: String
    /// The engine's arithmetic: fp32, bf16 (CPU) or tf32 (GPU).
    public var precision: String?
    public var threads: Int
    public var uptimeSeconds: Double
    public var queueDepth: Int
    public var queueCapacity: Int
    public var connections: Int
    public var requestsServed: Int
    public var requestsFailed: Int
    /// Per method.
    public var latency: [String: LatencySummary]
    public var imageCache: CacheStatistics
    public var resultCache: CacheStatistics
    /// Requests running work of many forward passes (occlusion, faithfulness), with how far they are.
    public var work: [WorkInProgress]?
    /// The GPU, when the engine runs on one.
    public var gpu: GPUStatus?
    /// bf16: answers scored again as close calls since the start (absent in fp32).
    public var closeCalls: Int?

    public init(
        version: String, state: HealthState, modelDirectory: String, modelChecksum: String?,
        architecture: String, model: ModelShape? = nil, device: String, threads: Int, uptimeSeconds: Double,
        queueDepth: Int,
        queueCapacity: Int, connections: Int, requestsServed: Int, requestsFailed: Int,
        latency: [String: LatencySummary], imageCache: CacheStatistics, resultCache: CacheStatistics
    ) {
        self.version = version
        self.state = state
        self.modelDirectory = modelDirectory
        self.modelChecksum = modelChecksum
        self.architecture = architecture
        self.model = model
        self.device = device
        self.threads = threads
        self.uptimeSeconds = uptimeSeconds
        self.queueDepth = queueDepth
        self.queueCapacity = queueCapacity
        self.connections = connections
        self.requestsServed = requestsServed
        self.requestsFailed = requestsFailed
        self.latency = latency
        self.imageCache = imageCache
        self.resultCache = resultCache
    }

    enum CodingKeys: String, CodingKey {
        case version, state, architecture, model, device, precision, threads, connections, latency, work, gpu
        case modelDirectory = "model_directory"
        case modelChecksum = "model_checksum"
        case uptimeSeconds = "uptime_seconds"
        case queueDepth = "queue_depth"
        case queueCapacity = "queue_capacity"
        case requestsServed = "requests_served"
        case requestsFailed = "requests_failed"
        case imageCache = "image_cache"
        case resultCache = "result_cache"
        case closeCalls = "close_calls"
    }
}

/// One request's work of many passes, as `status` shows it.
public struct WorkInProgress: Codable, Sendable, Equatable {
    public var method: String
    /// What the passes are for ("occlusion 3/3 on 30×30", "the full faithfulness test").
    public var work: String
    public var done: Int
    public var total: Int
    public var seconds: Double

    public init(method: String, work: String, done: Int, total: Int, seconds: Double) {
        self.method = method
        self.work = work
        self.done = done
        self.total = total
        self.seconds = seconds
    }
}

public struct MetricsResult: Codable, Sendable, Equatable {
    /// Prometheus text exposition format 0.0.4.
    public var text: String
    public init(text: String) { self.text = text }
}

/// The loaded model's shape as structured values (status; ofa-web sizes its layer and head choices with it).
public struct ModelShape: Codable, Sendable, Equatable {
    public var modelDimension: Int
    public var encoderLayers: Int
    public var decoderLayers: Int
    public var encoderHeads: Int
    public var decoderHeads: Int
    public var encoderFeedForwardDimension: Int
    public var decoderFeedForwardDimension: Int
    public var resnetType: String
    /// Side of the square image the model sees, and its patch grid.
    public var patchImageSize: Int
    public var patchGrid: PatchGridSize
    /// The answers in answer2label order ("no", "yes", "maybe").
    public var answers: [String]
    public var vocabularySize: Int
    /// max_src_length: the most prompt tokens kept.
    public var maximumSourceLength: Int

    public init(
        modelDimension: Int, encoderLayers: Int, decoderLayers: Int, encoderHeads: Int, decoderHeads: Int,
        encoderFeedForwardDimension: Int, decoderFeedForwardDimension: Int, resnetType: String, patchImageSize: Int,
        patchGrid: PatchGridSize, answers: [String], vocabularySize: Int, maximumSourceLength: Int
    ) {
        self.modelDimension = modelDimension
        self.encoderLayers = encoderLayers
        self.decoderLayers = decoderLayers
        self.encoderHeads = encoderHeads
        self.decoderHeads = decoderHeads
        self.encoderFeedForwardDimension = encoderFeedForwardDimension
        self.decoderFeedForwardDimension = decoderFeedForwardDimension
        self.resnetType = resnetType
        self.patchImageSize = patchImageSize
        self.patchGrid = patchGrid
        self.answers = answers
        self.vocabularySize = vocabularySize
        self.maximumSourceLength = maximumSourceLength
    }

    /// Layer and head counts of the part a map source reads.
    public func layers(of part: ModelPart) -> Int { part == .encoder ? encoderLayers : decoderLayers }
    public func heads(of part: ModelPart) -> Int { part == .encoder ? encoderHeads : decoderHeads }

    enum CodingKeys: String, CodingKey {
        case answers
        case modelDimension = "d_model"
        case encoderLayers = "encoder_layers"
        case decoderLayers = "decoder_layers"
        case encoderHeads = "encoder_heads"
        case decoderHeads = "decoder_heads"
        case encoderFeedForwardDimension = "encoder_ffn_dim"
        case decoderFeedForwardDimension = "decoder_ffn_dim"
        case resnetType = "resnet_type"
        case patchImageSize = "patch_image_size"
        case patchGrid = "patch_grid"
        case vocabularySize = "vocab_size"
        case maximumSourceLength = "max_src_length"
    }
}

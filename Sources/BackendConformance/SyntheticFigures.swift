// What the engine computes on the synthetic OFA-large checkpoint for one fixed input: the answer probabilities and
// the last cross-attention layer's answer row (head 0), and how long a query takes. The CPU engine's figures are
// committed (Tools/device/synthetic-figures.json, `ofa-device-check figures`); the device check compares its own.
import Foundation
import OFA

public struct SyntheticFigures: Codable, Equatable {
    /// The checkpoint's seed.
    public static let seed: UInt64 = 4242
    /// "there are two birds." as the visual-entailment prompt tokenizes it, and the decoder prompt.
    public static let sourceTokens = [0, 473, 5, 2274, 6190, 22, 89, 32, 80, 7723, 4, 22, 116, 2]
    public static let decoderTokens = [0, 473, 5, 2274, 6190, 22, 89, 32, 80, 7723, 4, 22, 116]

    public var seed = SyntheticFigures.seed
    public var probabilities: [Float]
    public var best: Int
    public var crossAttentionRow: [Float]
    public var backend: String
    public var precision: String

    /// A normalised 480 × 480 image of smooth deterministic patterns in [−1, 1].
    static func pixels(side: Int) -> [Float] {
        (0..<(3 * side * side)).map { i in
            let (channel, y, x) = (i / (side * side), i / side % side, i % side)
            return Float(sin(Double(x) * 0.05 + Double(channel)) * cos(Double(y) * 0.031 - Double(channel) * 0.7))
        }
    }

    public static func read(_ path: String) throws -> SyntheticFigures {
        try JSONDecoder().decode(SyntheticFigures.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Loads the checkpoint on `backend`, computes the figures, then times `runs` queries (image features and
    /// scoring) and one that returns every encoder attention map.
    public static func measure(directory: String, backend: Backend, runs: Int) throws
        -> (figures: SyntheticFigures, timing: DeviceReport.Timing)
    {
        let gpu = backend as? CUDABackend
        // On a GPU the weights are carved from one arena, as ofad loads them.
        let load = { try OFAModel(directory: directory, backend: backend) }
        let model = try gpu?.loadingWeights(load) ?? load()
        let side = model.task.patchImageSize
        let pixels = pixels(side: side)
        let layer = model.configuration.decoderLayers - 1
        let request = AttentionRequest(kinds: [.cross], layers: [layer], heads: [0], rows: [-1])
        func query(_ attention: AttentionRequest? = nil) throws -> Classification {
            let image = model.imageFeatures(pixels: pixels, height: side, width: side)
            return try model.classify(
                image: image, sourceTokens: sourceTokens, decoderTokens: decoderTokens,
                answerTokens: model.answerTokens, attention: attention)
        }
        let result = try query(request)
        let figures = SyntheticFigures(
            probabilities: result.probabilities, best: result.best,
            crossAttentionRow: result.attention.first?.values ?? [], backend: backend.name,
            precision: backend.precision.rawValue)
        let queue = gpu?.queue as? CUDAStreamQueue
        for _ in 0..<2 { _ = try query() }
        let uploadedBefore = queue?.uploadedBytes ?? 0
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let started = Date()
            _ = try query()
            times.append(Date().timeIntervalSince(started) * 1000)
        }
        let uploaded = ((queue?.uploadedBytes ?? 0) - uploadedBefore) / max(1, runs)
        let started = Date()
        _ = try query(AttentionRequest(kinds: [.encoder]))
        let encoderAttention = Date().timeIntervalSince(started) * 1000
        times.sort()
        let timing = DeviceReport.Timing(
            precision: backend.precision.rawValue, runs: times.count, medianMilliseconds: times[times.count / 2],
            minimumMilliseconds: times[0], allEncoderAttentionMilliseconds: encoderAttention,
            deviceBytesInUse: queue.flatMap { try? $0.stream.context.memory() }.map { $0.total - $0.free } ?? 0,
            uploadedBytesPerQuery: uploaded, weightArenaBytes: gpu?.weightMemory.reserved ?? 0,
            weightBytes: gpu?.weightMemory.used ?? 0)
        return (figures, timing)
    }
}

// The loaded OFA model: weights read strictly from a modelscope model directory (or a fairseq .pt beside its
// config.json), shared read-only by every request.
import CKernels
import Foundation

public final class OFAModel: @unchecked Sendable {
    public let directory: URL
    public let configuration: ModelConfiguration
    public let task: TaskConfiguration
    public let backend: Backend
    /// The weights file that was read.
    public let weightsPath: String
    /// Token id of each answer (`' ' + answer`, one BPE token), in the task's answer order.
    public let answerTokens: [Int]
    let encoder: Encoder
    let decoder: Decoder

    /// Weight file names looked for, in order of preference.
    public static let weightFileNames = ["pytorch_model.bin", "model.safetensors"]

    public init(directory path: String, backend: Backend) throws {
        directory = URL(fileURLWithPath: path)
        let configurationURL = directory.appendingPathComponent("config.json")
        do {
            configuration = try JSONDecoder().decode(
                ModelConfiguration.self, from: try JSONFile.data(at: configurationURL))
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError.malformed(file: "config.json", reason: "\(error)")
        }
        try configuration.validate()
        task = try TaskConfiguration.load(directory: directory)
        answerTokens = try OFAModel.answerTokens(
            task.answers, directory: directory,
            vocabularySize: configuration.vocabularySize)
        self.backend = backend

        weightsPath = try OFAModel.findWeights(in: directory)
        let file =
            weightsPath.hasSuffix(".safetensors")
            ? try Safetensors.read(path: weightsPath) : try TorchArchive.read(path: weightsPath)
        let store = try WeightStore(file: file, backend: backend)
        let root = WeightScope(store: store, prefix: "")
        let embedding = backend.prepareTable(
            try store.tiedEmbedding(shape: [configuration.vocabularySize, configuration.modelDimension]))
        encoder = try Encoder(
            root.scope("encoder"), backend: backend, configuration: configuration,
            embedding: embedding, imageSize: task.patchImageSize)
        decoder = try Decoder(
            root.scope("decoder"), backend: backend, configuration: configuration,
            embedding: embedding)
        try store.finish()
        // Reading left freed heap pages behind (the archive's buffers): hand them back before serving.
        ofa_release_free_heap()
        let grid = ResNet.gridSize(imageSize: task.patchImageSize)
        if grid > configuration.imageBucketSize {
            throw ConfigurationError.invalid(
                key: "model.patch_image_size",
                reason: "\(grid)×\(grid) patch grid exceeds image_bucket_size")
        }
    }

    /// The weights file of a model directory (the first of `weightFileNames`, else a fairseq `.pt`).
    public static func findWeights(in directory: URL) throws -> String {
        let manager = FileManager.default
        for name in weightFileNames {
            let path = directory.appendingPathComponent(name).path
            if manager.fileExists(atPath: path) { return path }
        }
        let fairseq = (try? manager.contentsOfDirectory(atPath: directory.path))?.filter { $0.hasSuffix(".pt") }
            .sorted()
        if let first = fairseq?.first { return directory.appendingPathComponent(first).path }
        throw CheckpointError.noWeights(directory: directory.path)
    }

    /// Answers are scored at one decoder position, so each must be a single token of vocab.json: GPT-2 BPE
    /// spells a leading space as "Ġ".
    static func answerTokens(_ answers: [String], directory: URL, vocabularySize: Int) throws -> [Int] {
        let vocabulary = try JSONFile.object(at: directory.appendingPathComponent("vocab.json"))
        return try answers.map { answer in
            guard let id = vocabulary["\u{0120}" + answer] as? Int else {
                throw ConfigurationError.unsupported(
                    key: "answer2label", value: "answer \"\(answer)\" is not one token")
            }
            guard id < vocabularySize else {
                throw ConfigurationError.invalid(
                    key: "answer2label", reason: "answer \(answer) has token \(id) ≥ vocab_size")
            }
            return id
        }
    }

    /// Side of the patch grid for the configured image size.
    public var gridSize: Int { ResNet.gridSize(imageSize: task.patchImageSize) }

    /// Backbone and patch embedding for one preprocessed image `[3, H, W]` (CHW, normalised). In bfloat16 the
    /// features keep the pixels for close calls unless `keepingForCloseCalls` is false (close calls off).
    public func imageFeatures(
        pixels: [Float], height: Int, width: Int, probe: ForwardProbe? = nil, keepingForCloseCalls: Bool = true
    ) -> ImageFeatures {
        precondition(pixels.count == 3 * height * width, "image needs 3·\(height)·\(width) values")
        let image = backend.makeTensor(shape: [3, height, width], values: pixels)
        let features = encoder.backbone(image)
        if let probe {
            // Recorded in PyTorch's [1024, h, w] order.
            let side = features.shape[0] * features.shape[1]
            probe.record(
                "resnet_output",
                backend.transpose(features.reshaped([side, features.shape[2]]))
                    .reshaped([features.shape[2], features.shape[0], features.shape[1]]), backend)
        }
        let made = encoder.imageFeatures(backbone: features)
        guard backend.precision == .bfloat16, keepingForCloseCalls else { return made }
        return made.keepingCloseCall(CloseCallImage(pixels: pixels, height: height, width: width))
    }

    /// Scores the answers for one source sequence against an image (spec §7: one decoder pass on the prompt,
    /// the last row's logits restricted to the answer tokens, softmax over them). In bfloat16, an answer whose top
    /// two probabilities are within `closeCallMargin` (0: never) is scored again on the image's features made with
    /// float32 convolution inputs, and that second answer is returned (`Classification.closeCall`).
    public func classify(
        image: ImageFeatures, sourceTokens: [Int], decoderTokens: [Int],
        answerTokens: [Int], attention: AttentionRequest? = nil,
        probe: ForwardProbe? = nil, closeCallMargin: Float = CloseCall.defaultMargin
    ) throws -> Classification {
        let first = try classify(
            image: image, sourceTokens: sourceTokens, decoderTokens: decoderTokens, answerTokens: answerTokens,
            recorder: attention.map { AttentionRecorder($0) }, probe: probe)
        guard let closeCall = image.closeCall, image.kept == nil,
            CloseCall.isClose(first.probabilities, margin: closeCallMargin)
        else { return first }
        let features = closeCall.features {
            backend.withFloat32ConvolutionInputs {
                imageFeatures(
                    pixels: closeCall.pixels, height: closeCall.height, width: closeCall.width,
                    keepingForCloseCalls: false)
            }
        }
        var second = try classify(
            image: features, sourceTokens: sourceTokens, decoderTokens: decoderTokens, answerTokens: answerTokens,
            recorder: attention.map { AttentionRecorder($0) }, probe: nil)
        second.closeCall = true
        return second
    }

    func classify(
        image: ImageFeatures, sourceTokens: [Int], decoderTokens: [Int], answerTokens: [Int],
        recorder: AttentionRecorder?, probe: ForwardProbe?
    ) throws -> Classification {
        try validate(tokens: sourceTokens, name: "source")
        try validate(tokens: decoderTokens, name: "decoder prompt")
        try validate(tokens: answerTokens, name: "answer")
        let encoded = encoder(image: image, tokens: sourceTokens, recorder: recorder, probe: probe)
        let logits = decoder(
            tokens: decoderTokens, answers: answerTokens, encoder: encoded, recorder: recorder, probe: probe)
        let probabilities = AnswerScoring.probabilities(logits: backend.read(logits))
        let geometry = AttentionGeometry(grid: image.grid, sourceTokens: sourceTokens, decoderTokens: decoderTokens)
        return Classification(probabilities: probabilities, attention: recorder?.maps ?? [], geometry: geometry)
    }

    func validate(tokens: [Int], name: String) throws {
        guard !tokens.isEmpty else { throw InputError.emptySequence(name) }
        guard tokens.count <= configuration.maximumPositions else {
            throw InputError.sequenceTooLong(name, length: tokens.count, limit: configuration.maximumPositions)
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= configuration.vocabularySize }) {
            throw InputError.tokenOutOfRange(name, token: bad, vocabularySize: configuration.vocabularySize)
        }
    }
}

/// Restricted answer probabilities plus any recorded attention.
public struct Classification: Sendable {
    /// In the answer order of the task configuration.
    public let probabilities: [Float]
    public let attention: [AttentionProbabilities]
    public let geometry: AttentionGeometry
    /// A bfloat16 close call: the first run's top two answers were within the margin, and these are the answers
    /// scored again on features made with float32 convolution inputs.
    public internal(set) var closeCall = false

    /// Index of the most probable answer (first on ties, as the reference's argmax).
    public var best: Int { AnswerScoring.argmax(probabilities) }
}

public enum InputError: Error, Equatable, CustomStringConvertible {
    case emptySequence(String)
    case sequenceTooLong(String, length: Int, limit: Int)
    case tokenOutOfRange(String, token: Int, vocabularySize: Int)
    case targetOutOfRange(String, answers: Int)
    case windowOutsideGrid(window: Int, grid: PatchGrid)
    case fractionOutOfRange(Double)
    case mapSizeMismatch(values: Int, patches: Int)
    case tokenNotDroppable

    public var description: String {
        switch self {
        case .emptySequence(let name): return "the \(name) sequence is empty"
        case .sequenceTooLong(let name, let length, let limit):
            return "the \(name) sequence has \(length) tokens, more than the model's \(limit) positions"
        case .tokenOutOfRange(let name, let token, let size):
            return "\(name) token \(token) is outside the vocabulary of \(size)"
        case .targetOutOfRange(let target, let answers):
            return "relevance target \(target) is not one of the \(answers) answers"
        case .windowOutsideGrid(let window, let grid):
            return "an occlusion window of \(window) patches does not fit the \(grid) patch grid"
        case .fractionOutOfRange(let fraction):
            return "perturbation fraction \(fraction) is outside 0…1"
        case .mapSizeMismatch(let values, let patches):
            return "a map of \(values) values for \(patches) patches"
        case .tokenNotDroppable:
            return "only source tokens, and decoder-prompt tokens before the answer row, can be left out"
        }
    }
}

// A summary of the loaded model for logs, status pages and clients.
import Foundation
import OFA

public struct ModelDescription: Sendable, Equatable, Codable, CustomStringConvertible {
    public let directory: String
    /// File name of the weights that were read.
    public let weightsFile: String
    public let modelDimension: Int
    public let encoderLayers: Int
    public let decoderLayers: Int
    public let encoderAttentionHeads: Int
    public let decoderAttentionHeads: Int
    public let encoderFeedForwardDimension: Int
    public let decoderFeedForwardDimension: Int
    public let resnetType: String
    public let patchImageSize: Int
    /// Patch grid side (the grid is square).
    public let gridSize: Int
    /// answer2label keys in order, with their labels.
    public let answers: [String]
    public let labels: [String]
    /// The model's vocab_size, and the tokenizer's size with its added tokens.
    public let vocabularySize: Int
    public let tokenizerSize: Int
    public let maximumSourceLength: Int
    public let promptType: String
    public let threads: Int

    init(model: OFAModel, tokenizerSize: Int, threads: Int) {
        let configuration = model.configuration
        directory = model.directory.path
        weightsFile = URL(fileURLWithPath: model.weightsPath).lastPathComponent
        modelDimension = configuration.modelDimension
        encoderLayers = configuration.encoderLayers
        decoderLayers = configuration.decoderLayers
        encoderAttentionHeads = configuration.encoderAttentionHeads
        decoderAttentionHeads = configuration.decoderAttentionHeads
        encoderFeedForwardDimension = configuration.encoderFeedForwardDimension
        decoderFeedForwardDimension = configuration.decoderFeedForwardDimension
        resnetType = configuration.resnetType
        patchImageSize = model.task.patchImageSize
        gridSize = model.gridSize
        answers = model.task.answers
        labels = answers.map(AnswerLabel.label(for:))
        vocabularySize = configuration.vocabularySize
        self.tokenizerSize = tokenizerSize
        maximumSourceLength = model.task.maximumSourceLength
        promptType = model.task.promptType.rawValue
        self.threads = threads
    }

    public var description: String {
        let pairs = zip(answers, labels).map { "\($0)=\($1)" }.joined(separator: ", ")
        return "OFA d=\(modelDimension), \(encoderLayers)+\(decoderLayers) layers, "
            + "\(encoderAttentionHeads)/\(decoderAttentionHeads) heads, "
            + "ffn \(encoderFeedForwardDimension)/\(decoderFeedForwardDimension), \(resnetType); "
            + "\(patchImageSize) px → \(gridSize)×\(gridSize) patches; answers \(pairs); vocab \(vocabularySize); "
            + "\(weightsFile); \(threads) threads"
    }
}

// The committed tiny-a model (random weights) and fixture images, with the pipeline's own answers as reference.
import Foundation
import OFAPipeline
import OFAServer
import OFAWire

enum TinyModel {
    static let directory = repositoryRoot + "/Tests/Fixtures/models/tiny-a"

    /// Fixture images of every decoded kind: PNG (RGB, RGBA, gray), JPEG, JPEG with EXIF orientation.
    static let imageNames = [
        "scene-160x120.png", "photo-200x150.jpg", "exif-6-120x80.jpg", "rgba-90x140.png", "gray-70x50.png",
    ]

    static func image(_ name: String) -> [UInt8] {
        let path = repositoryRoot + "/Tests/Fixtures/pipeline/images/" + name
        guard let data = FileManager.default.contents(atPath: path) else { fatalError("missing fixture \(path)") }
        return [UInt8](data)
    }

    /// The pipeline the daemon's answers must equal: same model, one thread, as the test daemons run it.
    static let reference = Result { try VisualEntailmentPipeline(modelDirectory: directory, threads: 1) }

    /// What the pipeline itself answers, in the wire's form.
    static func expected(_ image: [UInt8], _ hypotheses: [String], premise: String? = nil) throws -> [Prediction] {
        try reference.get().predict(imageBytes: image, hypotheses: hypotheses, premise: premise).enumerated().map {
            index, result in
            var probabilities: [String: Float] = [:]
            for answer in result.probabilities { probabilities[answer.answer] = answer.probability }
            return Prediction(
                hypothesis: hypotheses[index], answer: result.answer, label: result.label,
                probabilities: probabilities)
        }
    }
}

extension TestDaemon {
    /// A daemon serving tiny-a through the real engine (PipelineEngine, as ofad does).
    static func tinyModel(configure: (inout DaemonConfiguration) -> Void = { _ in }) throws -> TestDaemon {
        try TestDaemon(loader: PipelineEngine.loader) {
            $0.modelDirectory = TinyModel.directory
            configure(&$0)
        }
    }
}

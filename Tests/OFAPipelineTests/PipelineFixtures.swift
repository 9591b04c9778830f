// The committed tiny model directories and modelscope pipeline goldens (Tools/fixtures/make_pipeline_fixtures.py).
import Foundation
import OFAPipeline

enum PipelineFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func modelDirectory(_ name: String) -> String { root.appendingPathComponent("models/\(name)").path }

    /// A file under Tests/Fixtures/pipeline.
    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent("pipeline").appendingPathComponent(path)))
    }

    static func goldens(_ model: String) throws -> PipelineGoldens {
        let data = try Data(contentsOf: root.appendingPathComponent("pipeline/\(model).json"))
        return try JSONDecoder().decode(PipelineGoldens.self, from: data)
    }
}

/// What modelscope's pipeline answered for each case.
struct PipelineGoldens: Decodable {
    struct Case: Decodable {
        let name: String
        let image: String
        let hypothesis: String
        let premise: String?
        let label: String
        let score: Double
        let probabilities: [Double]
        let sourceTokens: [Int]

        enum CodingKeys: String, CodingKey {
            case name, image, hypothesis, premise, label, score, probabilities
            case sourceTokens = "source_tokens"
        }
    }

    let model: String
    let answers: [String]
    let cases: [Case]
}

/// One pipeline per committed model, loaded once and shared by the tests (it serves concurrent callers).
enum SharedPipelines {
    static let tinyA = Result {
        try VisualEntailmentPipeline(
            modelDirectory: PipelineFixtures.modelDirectory("tiny-a"),
            threads: 2)
    }
    static let tinyB = Result {
        try VisualEntailmentPipeline(
            modelDirectory: PipelineFixtures.modelDirectory("tiny-b"),
            threads: 2)
    }

    static func pipeline(_ name: String) throws -> VisualEntailmentPipeline {
        switch name {
        case "tiny-a": return try tinyA.get()
        case "tiny-b": return try tinyB.get()
        default: return try VisualEntailmentPipeline(modelDirectory: PipelineFixtures.modelDirectory(name), threads: 2)
        }
    }
}

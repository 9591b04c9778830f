// Answer relevance matches the reference (goldens from Tools/fixtures/make_relevance_fixtures.py: modelscope's OFA
// under PyTorch, autograd's ∇A of every attention map and the Chefer rules in torch) at every step: every ∇A within
// 1e-4 of its largest entry, Ā and the R matrices and the final maps within a relative 1e-3, the same top-10 patches;
// and the same maps from a request that keeps no detail (R^ee never formed).
import XCTest

@testable import OFA

class RelevanceParityTests: XCTestCase {
    /// The model the checks run (a subclass runs them on another backend).
    class func model(_ name: String) throws -> OFAModel { try ParityTests.model(name) }

    /// Largest |Δ| relative to the largest |expected| (1 when the expected values are all 0).
    func relativeDifference(_ actual: [Float], _ expected: [Float], line: UInt = #line) -> Float {
        let scale = expected.map(abs).max() ?? 0
        return maximumDifference(actual, expected, line: line) / (scale > 0 ? scale : 1)
    }

    /// Patch indices by value, ties by index (the golden script's stable descending sort).
    func topTen(_ values: [Float]) -> [Int] {
        Array(values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }.prefix(10))
    }

    func checkRelevance(model name: String) throws {
        let model = try Self.model(name)
        let inputs = try Fixtures.goldens(name)
        let goldens = try Fixtures.goldens("relevance-" + name)
        let targetNames = try XCTUnwrap(goldens.description["targets"] as? [String])
        XCTAssertFalse(goldens.cases.isEmpty)
        for description in goldens.cases {
            let label = description["name"] as! String
            let shape = try inputs.shape("\(label).patch_image")
            let image = model.imageFeatures(
                pixels: try inputs.floats("\(label).patch_image"), height: shape[1], width: shape[2])
            let targets = try targetNames.map { try XCTUnwrap(RelevanceTarget($0, answers: model.task.answers)) }
            func relevance(keepingDetail: Bool) throws -> RelevanceResult {
                try model.relevance(
                    image: image, sourceTokens: try inputs.integers("\(label).source_ids"),
                    decoderTokens: try inputs.integers("\(label).decoder_ids"), answerTokens: model.answerTokens,
                    targets: targets, keepingDetail: keepingDetail)
            }
            let result = try relevance(keepingDetail: true)
            let withoutDetail = try relevance(keepingDetail: false)
            let probabilities = try XCTUnwrap(description["probabilities"] as? [Double]).map(Float.init)
            XCTAssertLessThanOrEqual(maximumDifference(result.probabilities, probabilities), 1e-4)
            let expectedTargets = try XCTUnwrap(description["targets"] as? [String: [String: Any]])
            for (targetName, (relevance, plain)) in zip(targetNames, zip(result.relevances, withoutDetail.relevances)) {
                let what = "\(name) \(label) \(targetName)"
                func golden(_ suffix: String) throws -> [Float] {
                    try goldens.floats("\(label).\(targetName).\(suffix)")
                }
                let expected = try XCTUnwrap(expectedTargets[targetName])
                XCTAssertEqual(Double(relevance.value), expected["value"] as! Double, accuracy: 1e-4, "\(what) value")
                let detail = try XCTUnwrap(relevance.detail)
                for (kind, maps) in [
                    ("encoder", detail.encoder), ("decoder_self", detail.decoderSelf), ("cross", detail.cross),
                ] {
                    for (layer, map) in maps.enumerated() {
                        let gradient = relativeDifference(map.gradient, try golden("gradient.\(kind).\(layer)"))
                        XCTAssertLessThanOrEqual(gradient, 1e-4, "\(what) ∇A \(kind) \(layer)")
                        let weighted = relativeDifference(map.weighted, try golden("weighted.\(kind).\(layer)"))
                        XCTAssertLessThanOrEqual(weighted, 1e-3, "\(what) Ā \(kind) \(layer)")
                    }
                }
                XCTAssertLessThanOrEqual(
                    relativeDifference(detail.encoderRelevance, try golden("R_ee")), 1e-3, "\(what) R_ee")
                XCTAssertLessThanOrEqual(
                    relativeDifference(detail.decoderRelevance, try golden("R_dd")), 1e-3, "\(what) R_dd")
                XCTAssertLessThanOrEqual(
                    relativeDifference(detail.crossRelevance, try golden("R_de")), 1e-3, "\(what) R_de")
                let image = try golden("image")
                XCTAssertLessThanOrEqual(relativeDifference(relevance.image, image), 1e-3, "\(what) image map")
                XCTAssertEqual(topTen(relevance.image), expected["top10_patches"] as? [Int], "\(what) top-10 patches")
                XCTAssertLessThanOrEqual(
                    relativeDifference(relevance.sourceTokens, try golden("source_tokens")), 1e-3, "\(what) tokens")
                XCTAssertLessThanOrEqual(
                    relativeDifference(relevance.decoderTokens, try golden("decoder_tokens")), 1e-3, "\(what) prompt")
                XCTAssertNil(plain.detail)
                XCTAssertLessThanOrEqual(relativeDifference(plain.image, image), 1e-3, "\(what) image map, no detail")
                XCTAssertEqual(topTen(plain.image), expected["top10_patches"] as? [Int], "\(what) top-10, no detail")
                XCTAssertLessThanOrEqual(
                    relativeDifference(plain.sourceTokens, try golden("source_tokens")), 1e-3,
                    "\(what) tokens, no detail")
            }
        }
    }

    func testTinyARelevanceMatchesTheReferenceAtEveryStep() throws { try checkRelevance(model: "tiny-a") }
    func testTinyBRelevanceMatchesTheReferenceAtEveryStep() throws { try checkRelevance(model: "tiny-b") }
}

// The relevance rules on small hand-made maps, and ∇A against finite differences of the Swift forward pass alone.
import FixtureSupport
import XCTest

@testable import OFA

final class RelevanceRulesTests: XCTestCase {
    let backend = CPUBackend(threads: 1)

    func tensor(_ rows: [[Float]]) -> Tensor {
        backend.makeTensor(shape: [rows.count, rows[0].count], values: rows.flatMap { $0 })
    }

    func testHeadsAreClampedBeforeTheyAreAveraged() {
        // Two heads, one map entry: (+2·1)⁺ and (−2·1)⁺ average to 1, not to 0.
        let gradient = backend.makeTensor(shape: [2, 1, 2], values: [2, 0.5, -2, -1])
        let probabilities = backend.makeTensor(shape: [2, 1, 2], values: [1, 0.5, 1, 0.5])
        XCTAssertEqual(backend.read(backend.gradientWeightedMean(gradient, probabilities: probabilities)), [1, 0.125])
    }

    func testResidualNormalisationDividesEachRowOfRMinusIdentityByItsSumThenAddsTheIdentityBack() {
        let normalized = backend.read(backend.residualNormalized(tensor([[3, 2], [1, 1.5]])))
        let third: Float = 1 / 1.5
        let other: Float = 0.5 / 1.5
        XCTAssertEqual(normalized, [1.5, 0.5, third, other + 1])
    }

    func testEncoderLayersAccumulateAsRPlusAR() {
        let rules = RelevanceRules(backend: backend)
        let a = tensor([[0.5, 0.25], [0, 1]])
        let b = tensor([[0, 1], [0.5, 0]])
        let crossSelf = tensor([[1]])
        let matrices = rules.propagate(encoder: [a, b], decoderSelf: [crossSelf], cross: [tensor([[1, 0]])])
        // R = I + A = [[1.5, .25], [0, 2]], then R + B·R = R + [[0, 2], [.75, .125]].
        XCTAssertEqual(backend.read(try XCTUnwrap(matrices.encoder)), [1.5, 2.25, 0.75, 2.125])
    }

    /// Seeded non-negative maps, as Ā are.
    func maps(_ count: Int, rows: Int, columns: Int, seed: UInt64) -> [Tensor] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            tensor((0..<rows).map { _ in (0..<columns).map { _ in Float.random(in: 0..<1, using: &generator) } })
        }
    }

    func testWithoutKeepingREncoderTheDecoderMatricesAreTheSameAsThroughIt() throws {
        let rules = RelevanceRules(backend: backend)
        let (sources, decoderRows) = (9, 4)
        let encoder = maps(3, rows: sources, columns: sources, seed: 1)
        let decoderSelf = maps(2, rows: decoderRows, columns: decoderRows, seed: 2)
        let cross = maps(2, rows: decoderRows, columns: sources, seed: 3)
        let kept = rules.propagate(encoder: encoder, decoderSelf: decoderSelf, cross: cross)
        let fast = rules.propagate(encoder: encoder, decoderSelf: decoderSelf, cross: cross, keepingEncoder: false)
        XCTAssertNil(fast.encoder)
        XCTAssertEqual(backend.read(fast.decoder), backend.read(kept.decoder))
        let expected = backend.read(kept.cross)
        let scale = expected.map(abs).max()!
        XCTAssertLessThan(zip(backend.read(fast.cross), expected).map { abs($0 - $1) }.max()! / scale, 1e-5)
    }

    func testAnEncoderRowOfRMinusIdentitySummingToZeroGivesTheReferencesZeroCrossAdditionEitherWay() throws {
        let rules = RelevanceRules(backend: backend)
        // Token 1 gets no relevance in any encoder layer: R̄^ee's row 1 is NaN, so is every Ā · R̄^ee.
        let encoder = [tensor([[0.5, 0.5], [0, 0]]), tensor([[0.25, 0.5], [0, 0]])]
        let decoderSelf = [tensor([[0.5]])]
        let cross = [tensor([[1, 3]])]
        for keeping in [true, false] {
            let matrices = rules.propagate(
                encoder: encoder, decoderSelf: decoderSelf, cross: cross, keepingEncoder: keeping)
            XCTAssertEqual(backend.read(matrices.cross), [0, 0], "keeping R^ee: \(keeping)")
        }
    }

    func testACrossStepIsRBarDecoderTransposedTimesATimesRBarEncoder() {
        let rules = RelevanceRules(backend: backend)
        // One encoder layer: R^ee = I + E, R̄^ee = rownorm(E) + I.
        let encoder = tensor([[1, 1], [0, 2]])
        // One decoder row: R^dd = I + D = [[1.5]], R̄^dd = [[1]] + [[1]] = [[2]].
        let decoderSelf = tensor([[0.5]])
        let cross = tensor([[1, 3]])
        let matrices = rules.propagate(encoder: [encoder], decoderSelf: [decoderSelf], cross: [cross])
        // R̄^ee = [[1.5, .5], [0, 2]]; Ā·R̄^ee = [[1.5, 6.5]]; (R̄^dd)ᵀ· that = [[3, 13]]; R^de starts at 0.
        XCTAssertEqual(backend.read(matrices.decoder), [1.5])
        XCTAssertEqual(backend.read(matrices.cross), [3, 13])
    }

    func testARowOfRMinusIdentitySummingToZeroTurnsTheWholeCrossAdditionToZeroAsInTheReference() {
        let rules = RelevanceRules(backend: backend)
        // Decoder row 0 gets no self-attention relevance: its row of R^dd − I is 0, so R̄^dd is NaN there; the
        // reference's division makes the whole product NaN and then sets it to 0 — even row 1's share.
        let decoderSelf = tensor([[0, 0], [0.5, 0.5]])
        let cross = tensor([[1, 0], [0, 1]])
        let matrices = rules.propagate(
            encoder: [tensor([[0.5, 0.5], [0.5, 0.5]])], decoderSelf: [decoderSelf], cross: [cross])
        XCTAssertEqual(backend.read(matrices.cross), [0, 0, 0, 0])
        // With row 0 given some relevance the same maps add up.
        let other = rules.propagate(
            encoder: [tensor([[0.5, 0.5], [0.5, 0.5]])], decoderSelf: [tensor([[0.25, 0], [0.5, 0.5]])],
            cross: [cross])
        XCTAssertTrue(backend.read(other.cross).allSatisfy { $0 > 0 && $0.isFinite })
    }

    func testTargetsAreNamedByAnswerAndAContrastByTwoAnswers() {
        let answers = ["no", "yes", "maybe"]
        XCTAssertEqual(RelevanceTarget("yes", answers: answers), RelevanceTarget(answer: 1))
        XCTAssertEqual(RelevanceTarget("Yes-No", answers: answers), RelevanceTarget(answer: 1, contrast: 0))
        XCTAssertNil(RelevanceTarget("yes-yes", answers: answers))
        XCTAssertNil(RelevanceTarget("perhaps", answers: answers))
        XCTAssertNil(RelevanceTarget("yes-no-maybe", answers: answers))
        XCTAssertEqual(RelevanceTarget(answer: 2, contrast: 1).name(answers: answers), "maybe-yes")
    }

    /// ∂(log p_yes − log p_no)/∂A[h, i, j] by central differences of the plain forward pass (the recorder's edit
    /// seam changes one map entry before it is used), against the backward pass's ∇A for the target yes − no.
    func testProbabilityGradientsAgreeWithFiniteDifferencesOfTheForwardPass() throws {
        let model = try ParityTests.model("tiny-a")
        let goldens = try Fixtures.goldens("tiny-a")
        let shape = try goldens.shape("hypothesis.patch_image")
        let image = model.imageFeatures(
            pixels: try goldens.floats("hypothesis.patch_image"), height: shape[1], width: shape[2])
        let source = try goldens.integers("hypothesis.source_ids")
        let prompt = try goldens.integers("hypothesis.decoder_ids")
        let yes = try XCTUnwrap(model.task.answers.firstIndex(of: "yes"))
        let no = try XCTUnwrap(model.task.answers.firstIndex(of: "no"))
        let result = try model.relevance(
            image: image, sourceTokens: source, decoderTokens: prompt, answerTokens: model.answerTokens,
            targets: [RelevanceTarget(answer: yes, contrast: no)], keepingDetail: true)
        let detail = try XCTUnwrap(result.relevances.first?.detail)
        func target(editing kind: AttentionRequest.Kind, layer: Int, index: Int, by delta: Float) throws -> Double {
            let recorder = AttentionRecorder(AttentionRequest(kinds: [])) { editedKind, editedLayer, map in
                guard editedKind == kind, editedLayer == layer else { return }
                map.buffer.address.assumingMemoryBound(to: Float.self)[index] += delta
            }
            let p = try model.classify(
                image: image, sourceTokens: source, decoderTokens: prompt, answerTokens: model.answerTokens,
                recorder: recorder, probe: nil
            ).probabilities
            return log(Double(p[yes])) - log(Double(p[no]))
        }
        var checked = 0
        for (kind, maps) in [
            (AttentionRequest.Kind.encoder, detail.encoder), (.decoderSelf, detail.decoderSelf), (.cross, detail.cross),
        ] {
            for (layer, map) in maps.enumerated() {
                // The three entries with the largest gradient of each map.
                let entries = map.gradient.indices.sorted { abs(map.gradient[$0]) > abs(map.gradient[$1]) }.prefix(3)
                for index in entries {
                    let step: Float = 1e-2
                    let difference =
                        (try target(editing: kind, layer: layer, index: index, by: step)
                            - target(editing: kind, layer: layer, index: index, by: -step)) / Double(2 * step)
                    let analytic = Double(map.gradient[index])
                    XCTAssertEqual(
                        difference, analytic, accuracy: 2e-2 * max(abs(analytic), 1e-2),
                        "\(kind) layer \(layer) entry \(index)")
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, 3 * (model.configuration.encoderLayers + 2 * model.configuration.decoderLayers))
    }
}

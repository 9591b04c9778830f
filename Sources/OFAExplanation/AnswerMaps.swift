// Answer-specific maps for render, stats and the relevance method: relevance (one forward and one backward pass),
// occlusion (a pass per window) and the faithfulness test of any drawn map (a pass per step), with the work of
// many passes held to the request's time and stopped when its caller goes away.
import Foundation
import OFA
import OFAPipeline
import OFAPreprocessing
import OFAWire
import Visualize

/// The time and the caller a request's work answers to.
public struct WorkBudget: Sendable {
    /// When the request times out.
    public let deadline: ContinuousClock.Instant
    /// Whether the caller went away (the work's answer would be thrown away).
    public let isCancelled: @Sendable () -> Bool
    /// Told after each pass what the work is, how many passes are done and how many there are; `nil` work: it
    /// ended.
    public let report: @Sendable (_ work: String?, _ done: Int, _ total: Int) -> Void

    public init(
        deadline: ContinuousClock.Instant, isCancelled: @escaping @Sendable () -> Bool,
        report: @escaping @Sendable (String?, Int, Int) -> Void = { _, _, _ in }
    ) {
        self.deadline = deadline
        self.isCancelled = isCancelled
        self.report = report
    }

    public static var unlimited: WorkBudget {
        WorkBudget(deadline: .now + .seconds(1_000_000_000), isCancelled: { false })
    }

    var secondsLeft: Double { Explainer.seconds(deadline - .now) }

    /// Runs `work` (passes reported through its progress callback): stops it when the caller goes away or its
    /// time runs out, and refuses it as soon as the first pass shows that all of them would not fit, naming `key`.
    func run<T>(passes: String, key: String, _ work: (@escaping PerturbationProgress) throws -> T) throws -> T {
        let start = ContinuousClock.now
        let left = secondsLeft
        var refusal: ParameterError?
        var cancelled = false
        var expired = false
        defer { report(nil, 0, 0) }
        let progress: PerturbationProgress = { done, total in
            report(passes, done, total)
            if isCancelled() {
                cancelled = true
                return false
            }
            let elapsed = Explainer.seconds(.now - start)
            if done == 1, total > 1, elapsed * Double(total) > left {
                refusal = ParameterError(
                    key,
                    "asks for \(total) forward passes (\(passes)); at \(String(format: "%.2f", elapsed)) s a pass "
                        + "they need about \(Int((elapsed * Double(total)).rounded(.up))) s, more than the "
                        + "\(Int(left)) s left of the request timeout")
                return false
            }
            if .now > deadline {
                expired = true
                return false
            }
            return true
        }
        do {
            return try work(progress)
        } catch let stopped as PerturbationCancelled {
            if let refusal { throw refusal }
            if cancelled { throw ExplanationError.cancelled }
            if expired { throw ExplanationError.timedOut("request timed out: \(stopped) (\(passes))") }
            throw stopped
        }
    }
}

/// One map of the whole model, with what render, stats and the relevance method report besides it.
struct AnswerMap {
    let values: [Float]
    let method: MapMethod
    let probabilities: [Float]
    let tokens: [TokenRelevance]?
}

extension Explainer {
    /// The relevance or occlusion map a plan asks for.
    func answerMap(image: PreparedImageFeatures, text: PreparedText, plan: RenderPlan, budget: WorkBudget) throws
        -> AnswerMap
    {
        switch plan.settings.source {
        case .relevance:
            let result = try pipeline.relevance(
                image: image, text: text, targets: plan.target.map { [$0] } ?? [],
                includingPredicted: plan.target == nil)
            let relevance = result.relevances[0]
            return AnswerMap(
                values: relevance.image,
                method: MapMethod(
                    name: "relevance",
                    parameters: ["target": relevance.target.name(answers: plan.answers), "rules": "chefer2021"]),
                probabilities: result.probabilities,
                tokens: tokenRelevances(relevance.sourceTokens, of: text.sourceIDs, text: text))
        case .occlusion:
            let settings = OcclusionSettings(
                window: plan.settings.window, stride: plan.settings.stride,
                measure: PerturbationMeasure(rawValue: plan.settings.measure.rawValue)!)
            guard settings.window <= min(image.grid.rows, image.grid.columns) else {
                throw ParameterError(
                    "window", "\(settings.window) patches do not fit the \(image.grid) patch grid of this model")
            }
            let passes = "occlusion \(settings.window)/\(settings.stride) on \(image.grid)"
            let result = try budget.run(passes: passes, key: "window") { progress in
                try pipeline.occlusion(
                    image: image, text: text, target: plan.target, settings: settings, progress: progress)
            }
            // The text side: each hypothesis token left out, its drop as the token's value.
            let words = try budget.run(passes: "text occlusion", key: "window") { progress in
                try pipeline.textOcclusion(
                    image: image, text: text, target: result.target, measure: settings.measure, progress: progress)
            }
            let tokens = tokenRelevances(
                words.tokens.map(\.drop), of: text.sourceIDs, at: words.tokens.map(\.index), text: text)
            return AnswerMap(
                values: result.map,
                method: MapMethod(
                    name: "occlusion",
                    parameters: [
                        "target": result.target.name(answers: plan.answers), "window": String(settings.window),
                        "stride": String(settings.stride), "measure": settings.measure.rawValue,
                    ]),
                probabilities: result.unmasked.probabilities, tokens: tokens)
        case .cross, .encoder, .rollout:
            throw ExplanationError.notRecorded("an answer map for an attention source")
        }
    }

    /// The perturbation test of the drawn map (the mean of its layers), when the plan asks for one.
    func faithfulnessReport(
        of maps: ExplanationMaps, image: PreparedImageFeatures, text: PreparedText, plan: RenderPlan,
        budget: WorkBudget
    ) throws -> FaithfulnessReport? {
        let fractions: [Double]
        switch plan.settings.faithfulness {
        case .none: return nil
        case .fast: fractions = Faithfulness.fastFractions
        case .full: fractions = Faithfulness.fullFractions
        }
        let map = maps.maps.count == 1 ? maps.maps[0] : try Heatmap.mean(maps.maps)
        let result = try budget.run(
            passes: "the \(plan.settings.faithfulness.rawValue) faithfulness test", key: "faithfulness"
        ) { progress in
            try pipeline.faithfulness(
                image: image, text: text, map: map.values, target: plan.target, fractions: fractions,
                progress: progress)
        }
        func curve(_ curve: FaithfulnessCurve) -> FaithfulnessCurveInfo {
            FaithfulnessCurveInfo(
                fractions: curve.fractions, removed: curve.removed, probabilities: curve.probabilities,
                answerChanged: curve.answerChanged, area: curve.area)
        }
        return FaithfulnessReport(
            target: plan.answers[result.target.answer], answer: plan.answers[result.answer],
            positive: curve(result.positive), negative: curve(result.negative))
    }

    /// Tokens of `ids` (the source, or the decoder prompt that repeats its start) with their relevance and text,
    /// the hypothesis's own marked: `values[k]` is the token at `indices[k]` (nil: at k).
    func tokenRelevances(_ values: [Float], of ids: [Int], at indices: [Int]? = nil, text: PreparedText)
        -> [TokenRelevance]
    {
        let strings = pipeline.strings(ids)
        return zip(indices ?? Array(values.indices), values).map { index, value in
            TokenRelevance(
                index: index, text: strings[index], relevance: value,
                hypothesis: text.hypothesisTokens.contains(index))
        }
    }

    /// The relevance method: image and token relevance for each target (default: the predicted answer).
    public func relevance(image: PreparedImageFeatures, params: RelevanceParams) throws -> (
        Prediction, [TargetRelevance]
    ) {
        let answers = pipeline.model.task.answers
        let names = params.targets ?? ["predicted"]
        guard !names.isEmpty, names.count <= 2 * answers.count * answers.count else {
            throw ParameterError(
                "targets", "gives \(names.count) targets: give 1 to \(2 * answers.count * answers.count)")
        }
        let targets = try names.filter { $0 != "predicted" }.map { try RenderPlan.target($0, answers: answers) }
        let text = try pipeline.prepareText(hypothesis: params.hypothesis, premise: params.premise)
        let result = try pipeline.relevance(
            image: image, text: text, targets: targets, includingPredicted: names.contains("predicted"))
        let prediction = Prediction(
            probabilities: result.probabilities, answers: answers, hypothesis: params.hypothesis)
        let decoderTokens = pipeline.decoderTokens(for: text)
        let grid = PatchGridSize(rows: image.grid.rows, cols: image.grid.columns)
        return (
            prediction,
            result.relevances.map { relevance in
                TargetRelevance(
                    target: relevance.target.name(answers: answers), value: relevance.value, patchGrid: grid,
                    image: relevance.image,
                    sourceTokens: tokenRelevances(relevance.sourceTokens, of: text.sourceIDs, text: text),
                    decoderTokens: tokenRelevances(relevance.decoderTokens, of: decoderTokens, text: text))
            }
        )
    }
}

extension Prediction {
    /// The wire's verdict from answer probabilities in the task's order.
    init(probabilities: [Float], answers: [String], hypothesis: String) {
        let best = AnswerScoring.argmax(probabilities)
        self.init(
            hypothesis: hypothesis, answer: answers[best], label: AnswerLabel.label(for: answers[best]),
            probabilities: Dictionary(uniqueKeysWithValues: zip(answers, probabilities).map { ($0, $1) }))
    }
}

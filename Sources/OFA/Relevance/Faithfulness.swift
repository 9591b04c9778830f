// How far to trust a map (Chefer et al. 2021 §5's perturbation test): remove image patches most relevant first
// (positive: the target should fall fast) or least relevant first (negative: it should hold), the hypothesis and
// special tokens kept, and record the target answer's probability and whether the answer changed at each step.

public struct FaithfulnessCurve: Sendable, Equatable {
    public let fractions: [Double]
    /// Patches removed at each fraction: ⌊fraction · P⌋ of the order.
    public let removed: [Int]
    /// The target answer's probability at each fraction.
    public let probabilities: [Float]
    /// Whether the most probable answer differs from the unperturbed one, at each fraction.
    public let answerChanged: [Bool]
    /// Trapezoid area under the probabilities over the fractions.
    public let area: Double
}

public struct FaithfulnessResult: Sendable, Equatable {
    public let positive: FaithfulnessCurve
    public let negative: FaithfulnessCurve
    /// The unperturbed answer.
    public let answer: Int
    /// Whose probability the curves follow (the unperturbed answer when none was given).
    public let target: RelevanceTarget
}

public enum Faithfulness {
    /// The paper's fractions.
    public static let fullFractions: [Double] = [0, 0.25, 0.5, 0.75, 0.8, 0.85, 0.9, 0.95, 1]
    /// The interactive variant: four steps.
    public static let fastFractions: [Double] = [0, 0.5, 0.9, 1]

    /// Patches in removal order: by (−value, index) for positive, (value, index) for negative.
    public static func order(_ map: [Float], positive: Bool) -> [Int] {
        map.indices.sorted { a, b in
            map[a] != map[b] ? (positive ? map[a] > map[b] : map[a] < map[b]) : a < b
        }
    }

    /// Patches removed at `fraction` of `patches`.
    public static func removedCount(_ fraction: Double, patches: Int) -> Int {
        min(patches, Int((fraction * Double(patches)).rounded(.down)))
    }

    public static func trapezoid(_ x: [Double], _ y: [Float]) -> Double {
        var area = 0.0
        for i in x.indices.dropFirst() where i < y.count {
            area += (x[i] - x[i - 1]) * (Double(y[i]) + Double(y[i - 1])) / 2
        }
        return area
    }
}

extension OFAModel {
    /// Both curves for `map` (one value per patch, row-major): the unperturbed pass, reused at fraction 0, and one
    /// pass per other fraction and curve.
    public func faithfulness(
        image: ImageFeatures, map: [Float], sourceTokens: [Int], decoderTokens: [Int], answerTokens: [Int],
        target requested: RelevanceTarget?, fractions: [Double] = Faithfulness.fullFractions,
        progress: PerturbationProgress? = nil
    ) throws -> FaithfulnessResult {
        try requested?.check(answers: answerTokens.count)
        let patches = image.grid.count
        guard map.count == patches else { throw InputError.mapSizeMismatch(values: map.count, patches: patches) }
        if let bad = fractions.first(where: { !(0...1).contains($0) }) { throw InputError.fractionOutOfRange(bad) }
        let perturbed = fractions.filter { Faithfulness.removedCount($0, patches: patches) > 0 }.count
        let total = 1 + 2 * perturbed
        var done = 1
        // The unperturbed pass first: it names the answer (and the target, when none was given).
        let unperturbed = try answerScores(
            image: image, sourceTokens: sourceTokens, decoderTokens: decoderTokens, answerTokens: answerTokens)
        let target = requested ?? RelevanceTarget(answer: unperturbed.best)
        if let progress, !progress(done, total) { throw PerturbationCancelled(done: done, total: total) }
        func curve(positive: Bool) throws -> FaithfulnessCurve {
            let order = Faithfulness.order(map, positive: positive)
            var removed: [Int] = []
            var probabilities: [Float] = []
            var changed: [Bool] = []
            for fraction in fractions {
                let count = Faithfulness.removedCount(fraction, patches: patches)
                let gone = Set(order.prefix(count))
                let scores =
                    count == 0
                    ? unperturbed
                    : try answerScores(
                        image: image, keptPatches: (0..<patches).filter { !gone.contains($0) },
                        sourceTokens: sourceTokens, decoderTokens: decoderTokens, answerTokens: answerTokens)
                removed.append(count)
                probabilities.append(scores.probabilities[target.answer])
                changed.append(scores.best != unperturbed.best)
                guard count > 0 else { continue }
                done += 1
                if let progress, !progress(done, total) { throw PerturbationCancelled(done: done, total: total) }
            }
            return FaithfulnessCurve(
                fractions: fractions, removed: removed, probabilities: probabilities, answerChanged: changed,
                area: Faithfulness.trapezoid(fractions, probabilities))
        }
        let positive = try curve(positive: true)
        let negative = try curve(positive: false)
        return FaithfulnessResult(positive: positive, negative: negative, answer: unperturbed.best, target: target)
    }
}

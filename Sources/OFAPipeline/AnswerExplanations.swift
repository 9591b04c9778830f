// Answer-specific explanations over a prepared image and text: relevance (one forward, a backward per target),
// occlusion maps and the faithfulness test of a map (forward passes with patches masked), as OFA computes them.
import OFA
import OFAPreprocessing

extension VisualEntailmentPipeline {
    /// Relevance for `targets` (with the predicted answer's first when `includingPredicted`).
    public func relevance(
        image: PreparedImageFeatures, text: PreparedText, targets: [RelevanceTarget], includingPredicted: Bool
    ) throws -> RelevanceResult {
        guard image.model === model else { throw PipelineError.imageFromAnotherModel }
        return try model.relevance(
            image: image.features, sourceTokens: text.sourceIDs, decoderTokens: decoderTokens(for: text),
            answerTokens: model.answerTokens, targets: targets, includingPredicted: includingPredicted)
    }

    /// `target` nil: the predicted answer's.
    public func occlusion(
        image: PreparedImageFeatures, text: PreparedText, target: RelevanceTarget?, settings: OcclusionSettings,
        progress: PerturbationProgress? = nil
    ) throws -> OcclusionResult {
        guard image.model === model else { throw PipelineError.imageFromAnotherModel }
        return try model.occlusion(
            image: image.features, sourceTokens: text.sourceIDs, decoderTokens: decoderTokens(for: text),
            answerTokens: model.answerTokens, target: target, settings: settings, progress: progress)
    }

    /// Each of the hypothesis's tokens left out in turn (as padding); `target` nil: the predicted answer's.
    public func textOcclusion(
        image: PreparedImageFeatures, text: PreparedText, target: RelevanceTarget?, measure: PerturbationMeasure,
        progress: PerturbationProgress? = nil
    ) throws -> TextOcclusionResult {
        guard image.model === model else { throw PipelineError.imageFromAnotherModel }
        let prompt = decoderTokens(for: text)
        // The answer row (the prompt's last token) stays, and so does anything past it.
        let tokens = text.hypothesisTokens.filter { $0 < prompt.count - 1 }
        return try model.textOcclusion(
            image: image.features, sourceTokens: text.sourceIDs, decoderTokens: prompt,
            answerTokens: model.answerTokens, target: target, tokens: Array(tokens),
            promptRepeatsSource: model.task.promptType == .previousOutput, measure: measure, progress: progress)
    }

    /// The perturbation test of `map` (a value per patch); `target` nil: the unperturbed answer's.
    public func faithfulness(
        image: PreparedImageFeatures, text: PreparedText, map: [Float], target: RelevanceTarget?,
        fractions: [Double], progress: PerturbationProgress? = nil
    ) throws -> FaithfulnessResult {
        guard image.model === model else { throw PipelineError.imageFromAnotherModel }
        return try model.faithfulness(
            image: image.features, map: map, sourceTokens: text.sourceIDs, decoderTokens: decoderTokens(for: text),
            answerTokens: model.answerTokens, target: target, fractions: fractions, progress: progress)
    }
}

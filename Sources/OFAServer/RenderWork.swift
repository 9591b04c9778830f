// render and stats on a worker: the image (features from the cache when there), then OFAExplanation's one forward
// pass, maps, statistics and file; the transport adds timings and checks the answer fits a frame.
import ImageIO
import OFAExplanation
import OFAWire

extension PredictionWork {
    func render(
        _ image: ImageInput, _ plan: RenderPlan, engine: any InferenceEngine, queuedAt: UInt64, deadline: UInt64,
        budget: WorkBudget, _ timings: inout Timings
    ) throws -> JSONValue {
        let bytes = try loadImage(image)
        let prepared = try prepare(engine, bytes, key: imageKey(engine, bytes), deadline: deadline, &timings)
        let explanation = try engine.explain(image: prepared, imageBytes: bytes, plan: plan, budget: budget)
        timings.modelMs = explanation.modelSeconds * 1000
        timings.renderMs = explanation.renderSeconds * 1000
        guard let output = explanation.output else {
            timings.totalMs = milliseconds(since: queuedAt)
            return try JSONValue(
                encoding: StatsResult(
                    method: explanation.method, prediction: explanation.prediction, patchGrid: explanation.patchGrid,
                    imageWidth: explanation.imageWidth, imageHeight: explanation.imageHeight,
                    statistics: explanation.statistics, faithfulness: explanation.faithfulness,
                    tokens: explanation.tokens, timings: timings))
        }
        // Base64 grows the bytes by a third; the answer must fit the frames clients accept.
        let encodedLength = (output.bytes.count + 2) / 3 * 4
        guard encodedLength + 1 << 16 <= configuration.maximumFrameLength else {
            throw RPCError(
                code: RPCErrorCode.inputTooLarge,
                message:
                    "the \(output.format) output is \(output.bytes.count) bytes, too large for a "
                    + "\(configuration.maximumFrameLength)-byte frame: lower \"max_side\" or draw fewer layers")
        }
        timings.totalMs = milliseconds(since: queuedAt)
        return try JSONValue(
            encoding: RenderResult(
                format: output.format, data: output.bytes, width: output.width, height: output.height,
                frames: output.frames, layers: explanation.layers, method: explanation.method,
                prediction: explanation.prediction, statistics: explanation.statistics,
                faithfulness: explanation.faithfulness, tokens: explanation.tokens, timings: timings))
    }
}

// render and stats on a worker: the image (features from the cache when there), one forward pass recording only
// what the maps need, the maps, then the drawing or the statistics.
import ImageIO
import OFAWire

extension PredictionWork {
    func render(
        _ plan: RenderPlan, drawing: Bool, engine: any InferenceEngine, queuedAt: UInt64, _ timings: inout Timings
    ) throws -> JSONValue {
        let bytes = try loadImage(plan.image)
        let prepared = try prepare(engine, bytes, key: imageKey(engine, bytes), &timings)
        let modelStart = monotonicNanoseconds()
        let recorded = try engine.record(
            image: prepared, hypothesis: plan.hypothesis, premise: plan.premise, recording: plan.recording)
        timings.modelMs = milliseconds(since: modelStart)

        let renderStart = monotonicNanoseconds()
        let maps = try AttentionMaps(recorded, plan: plan)
        let statistics = maps.statistics(
            layers: plan.layers, imageWidth: recorded.imageWidth, imageHeight: recorded.imageHeight,
            focusThreshold: plan.focusThreshold, topK: plan.topK)
        guard drawing else {
            timings.renderMs = milliseconds(since: renderStart)
            timings.totalMs = milliseconds(since: queuedAt)
            return try JSONValue(
                encoding: StatsResult(
                    method: maps.method(drawnWith: nil, sharedScale: false, averaged: false), prediction: recorded.prediction,
                    patchGrid: recorded.grid, imageWidth: recorded.imageWidth, imageHeight: recorded.imageHeight,
                    statistics: statistics, timings: timings))
        }
        let image =
            plan.output == .npy
            ? nil : try ImageDecoder(pixelLimit: configuration.maximumImagePixels).decode(bytes).image
        let output = try RenderedOutput(maps, plan: plan, image: image, prediction: recorded.prediction)
        // Base64 grows the bytes by a third; the answer must fit the frames clients accept.
        let encodedLength = (output.bytes.count + 2) / 3 * 4
        guard encodedLength + 1 << 16 <= configuration.maximumFrameLength else {
            throw RPCError(
                code: RPCErrorCode.inputTooLarge,
                message:
                    "the \(output.format) output is \(output.bytes.count) bytes, too large for a "
                    + "\(configuration.maximumFrameLength)-byte frame: lower \"max_side\" or draw fewer layers")
        }
        timings.renderMs = milliseconds(since: renderStart)
        timings.totalMs = milliseconds(since: queuedAt)
        return try JSONValue(
            encoding: RenderResult(
                format: output.format, data: output.bytes, width: output.width, height: output.height,
                frames: output.frames, layers: plan.layers,
                method: maps.method(
                    drawnWith: plan.output == .npy ? nil : plan.options, sharedScale: plan.sharedScale,
                    averaged: plan.output == .overlay && plan.layers.count > 1),
                prediction: recorded.prediction, statistics: statistics, timings: timings))
    }
}

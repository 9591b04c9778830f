// What a model request does: checks its parameters up front, then on a worker fetches the image, reuses
// cached image features and predictions, and calls the engine.
import Crypto
import Foundation
import ImageIO
import OFAExplanation
import OFAWire

final class PredictionWork: @unchecked Sendable {
    enum Task {
        case predict(PredictParams)
        case attention(AttentionParams)
        case render(ImageInput, RenderPlan)
        case stats(ImageInput, RenderPlan)
        case relevance(ImageInput, RelevanceParams)
    }

    let configuration: DaemonConfiguration
    let imageRoots: ImageRoots
    /// Prepared images by image digest and preprocessing parameters.
    let imageCache: LRUCache<String, EngineImage>
    /// Predictions by image key, premise and hypothesis.
    let resultCache: LRUCache<String, Prediction>
    /// Work of many passes in progress, for status.
    let progress = ProgressBoard()

    init(configuration: DaemonConfiguration) {
        self.configuration = configuration
        imageRoots = ImageRoots(configuration.imageRoots)
        imageCache = LRUCache(bytes: configuration.imageCacheBytes) { $0.byteCount }
        resultCache = LRUCache(capacity: configuration.resultCacheEntries)
    }

    // MARK: validation (on the connection's thread, before queueing)

    /// `engine` describes the loaded model (its attention layout bounds render and stats choices).
    func validate(_ request: RPCRequest, engine: EngineDescription) -> Result<Task, RPCError> {
        do {
            let params = request.params ?? .object([:])
            if request.method == Method.render || request.method == Method.stats {
                let render = try params.decodeParameters(RenderParams.self)
                guard let model = engine.model else {
                    throw Self.rpcError(.unavailable("this engine draws no attention maps"))
                }
                let image = try oneImage(render.imageInput)
                let plan = try RenderPlan(render, model: model, forStats: request.method == Method.stats)
                try checkQuestion(image, hypothesis: plan.hypothesis, premise: plan.premise)
                return .success(request.method == Method.render ? .render(image, plan) : .stats(image, plan))
            } else if request.method == Method.relevance {
                let relevance = try params.decodeParameters(RelevanceParams.self)
                guard let model = engine.model else {
                    throw Self.rpcError(.unavailable("this engine computes no relevance"))
                }
                let image = try oneImage(relevance.imageInput)
                for name in relevance.targets ?? [] where name != "predicted" {
                    _ = try RenderPlan.target(name, answers: model.answers)
                }
                try checkQuestion(image, hypothesis: relevance.hypothesis, premise: relevance.premise)
                return .success(.relevance(image, relevance))
            } else if request.method == Method.predict {
                let predict = try params.decodeParameters(PredictParams.self)
                try checkImage(predict.image)
                let hypotheses = predict.allHypotheses
                guard (predict.hypothesis == nil) != (predict.hypotheses == nil), !hypotheses.isEmpty else {
                    throw invalid("give exactly one of \"hypothesis\" and a non-empty \"hypotheses\"")
                }
                guard hypotheses.count <= configuration.maximumHypotheses else {
                    throw RPCError(
                        code: RPCErrorCode.inputTooLarge,
                        message: "\(hypotheses.count) hypotheses, over the limit of \(configuration.maximumHypotheses)")
                }
                try checkTexts(hypotheses + [predict.premise].compactMap { $0 })
                if let blank = hypotheses.firstIndex(where: { $0.allSatisfy(\.isWhitespace) }) {
                    throw invalid("hypothesis \(blank) is empty")
                }
                return .success(.predict(predict))
            } else {
                let attention = try params.decodeParameters(AttentionParams.self)
                try checkImage(attention.image)
                try checkTexts([attention.hypothesis] + [attention.premise].compactMap { $0 })
                if attention.hypothesis.allSatisfy(\.isWhitespace) { throw invalid("the hypothesis is empty") }
                let selection = attention.attention
                guard !selection.kinds.isEmpty else { throw invalid("\"attention.kinds\" is empty") }
                guard selection.layers?.isEmpty != true, selection.heads?.isEmpty != true else {
                    throw invalid("\"attention.layers\" and \"attention.heads\" may be left out but not empty")
                }
                guard ((selection.layers ?? []) + (selection.heads ?? [])).allSatisfy({ $0 >= 0 }) else {
                    throw invalid("layer and head indices must be ≥ 0")
                }
                return .success(.attention(attention))
            }
        } catch let error as RPCError {
            return .failure(error)
        } catch {
            return .failure(invalid("\(error)"))
        }
    }

    /// render, stats and relevance take the image as `image` or `path`, exactly one.
    private func oneImage(_ image: ImageInput?) throws -> ImageInput {
        guard let image else {
            throw invalid("give the image as exactly one of \"image\" ({\"data\"} or {\"path\"}) and \"path\"")
        }
        return image
    }

    /// One image and one hypothesis (with an optional premise), as render, stats and relevance ask.
    private func checkQuestion(_ image: ImageInput, hypothesis: String, premise: String?) throws {
        try checkImage(image)
        try checkTexts([hypothesis] + [premise].compactMap { $0 })
        if hypothesis.allSatisfy(\.isWhitespace) { throw invalid("the hypothesis is empty") }
    }

    private func checkImage(_ image: ImageInput) throws {
        guard (image.data == nil) != (image.path == nil) else {
            throw invalid("\"image\" needs exactly one of \"data\" (base64) and \"path\"")
        }
        if let bytes = image.data?.bytes { _ = try header(of: bytes) }
    }

    private func checkTexts(_ texts: [String]) throws {
        for text in texts where text.count > configuration.maximumTextLength {
            throw RPCError(
                code: RPCErrorCode.inputTooLarge,
                message: "text of \(text.count) characters, over the limit of \(configuration.maximumTextLength)")
        }
    }

    private func header(of bytes: [UInt8]) throws -> ImageHeader {
        guard let header = ImageHeader(bytes) else {
            throw RPCError(
                code: RPCErrorCode.imageUndecodable, message: "image cannot be decoded: not a PNG or JPEG")
        }
        guard header.pixels <= configuration.maximumImagePixels else {
            throw RPCError(
                code: RPCErrorCode.inputTooLarge,
                message:
                    "image of \(header.width)×\(header.height) pixels, over the limit of \(configuration.maximumImagePixels)"
            )
        }
        return header
    }

    func invalid(_ message: String) -> RPCError {
        RPCError(code: RPCErrorCode.invalidParams, message: "invalid params: \(message)")
    }

    // MARK: running (on a worker thread)

    /// `deadline` (monotonic nanoseconds) is the request's: image decoding stops there.
    func run(
        _ task: Task, engine: any InferenceEngine, queuedAt: UInt64, startedAt: UInt64, deadline: UInt64,
        isWithdrawn: @escaping @Sendable () -> Bool = { false }
    ) -> JobResult {
        var timings = Timings(queueMs: Double(startedAt - queuedAt) / 1e6)
        do {
            let value: JSONValue
            switch task {
            case .predict(let params):
                let bytes = try loadImage(params.image)
                let predictions = try predict(
                    engine, bytes, params.allHypotheses, params.premise, deadline: deadline, &timings)
                timings.totalMs = milliseconds(since: queuedAt)
                value = try JSONValue(encoding: PredictResult(predictions: predictions, timings: timings))
            case .attention(let params):
                let bytes = try loadImage(params.image)
                let prepared = try prepare(engine, bytes, key: imageKey(engine, bytes), deadline: deadline, &timings)
                let modelStart = monotonicNanoseconds()
                let (prediction, maps) = try engine.attention(
                    image: prepared, hypothesis: params.hypothesis,
                    premise: params.premise, selection: params.attention)
                timings.modelMs = milliseconds(since: modelStart)
                timings.totalMs = milliseconds(since: queuedAt)
                value = try JSONValue(encoding: AttentionResult(prediction: prediction, maps: maps, timings: timings))
            case .render(let image, let plan), .stats(let image, let plan):
                let budget = WorkBudget(
                    deadline: .now + .nanoseconds(Int64(bitPattern: deadline &- monotonicNanoseconds())),
                    isCancelled: isWithdrawn, report: progress.reporter(method: plan.forStats ? "stats" : "render"))
                value = try render(
                    image, plan, engine: engine, queuedAt: queuedAt, deadline: deadline, budget: budget, &timings)
            case .relevance(let image, let params):
                let bytes = try loadImage(image)
                let prepared = try prepare(engine, bytes, key: imageKey(engine, bytes), deadline: deadline, &timings)
                let modelStart = monotonicNanoseconds()
                let (prediction, targets) = try engine.relevance(image: prepared, params: params)
                timings.modelMs = milliseconds(since: modelStart)
                timings.totalMs = milliseconds(since: queuedAt)
                value = try JSONValue(
                    encoding: RelevanceMethodResult(prediction: prediction, targets: targets, timings: timings))
            }
            return .success(value)
        } catch let error as RPCError {
            return .failure(error)
        } catch let error as EngineError {
            return .failure(Self.rpcError(error))
        } catch let error as ParameterError {
            return .failure(invalid(error.description))
        } catch let error as ImagePathError {
            return .failure(RPCError(code: RPCErrorCode.imageNotReadable, message: error.description))
        } catch {
            return .failure(RPCError(code: RPCErrorCode.internalError, message: "internal error: \(error)"))
        }
    }

    static func rpcError(_ error: EngineError) -> RPCError {
        let code =
            switch error {
            case .imageUndecodable: RPCErrorCode.imageUndecodable
            case .inputTooLarge: RPCErrorCode.inputTooLarge
            case .invalidInput: RPCErrorCode.invalidParams
            case .selectionOutOfRange: RPCErrorCode.attentionOutOfRange
            case .unavailable: RPCErrorCode.modelNotReady
            case .busy: RPCErrorCode.serverBusy
            case .timedOut: RPCErrorCode.timedOut
            case .failed: RPCErrorCode.internalError
            }
        return RPCError(code: code, message: error.description)
    }

    func loadImage(_ input: ImageInput) throws -> [UInt8] {
        if let data = input.data { return data.bytes }
        let bytes = try imageRoots.read(input.path ?? "", maximumBytes: configuration.maximumFrameLength)
        _ = try header(of: bytes)
        return bytes
    }

    /// The image-cache key: digest of the bytes plus the engine's preprocessing parameters.
    func imageKey(_ engine: any InferenceEngine, _ bytes: [UInt8]) -> String {
        SHA256.hexDigest(of: bytes) + "|" + engine.describe().imageParameters
    }

    func prepare(
        _ engine: any InferenceEngine, _ bytes: [UInt8], key: String, deadline: UInt64, _ timings: inout Timings
    ) throws -> EngineImage {
        if let cached = imageCache.value(for: key) {
            timings.imageCached = true
            return cached
        }
        let start = monotonicNanoseconds()
        let seconds = Double(Int64(bitPattern: deadline &- start)) / 1e9
        guard seconds > 0 else { throw EngineError.timedOut("no time was left to prepare the image") }
        let prepared = try engine.prepareImage(bytes, seconds: seconds)
        timings.imageMs = milliseconds(since: start)
        imageCache.insert(prepared, for: key)
        return prepared
    }

    private func predict(
        _ engine: any InferenceEngine, _ bytes: [UInt8], _ hypotheses: [String], _ premise: String?,
        deadline: UInt64, _ timings: inout Timings
    ) throws -> [Prediction] {
        let imageKey = imageKey(engine, bytes)
        // Length-prefixed parts, so no two (premise, hypothesis) pairs share a key.
        func resultKey(_ hypothesis: String) -> String {
            let premisePart = premise.map { "\($0.utf8.count):\($0)" } ?? "-"
            return "\(imageKey)|\(premisePart)|\(hypothesis.utf8.count):\(hypothesis)"
        }
        var results = hypotheses.map { resultCache.value(for: resultKey($0)) }
        let missing = hypotheses.indices.filter { results[$0] == nil }
        if !missing.isEmpty {
            let prepared = try prepare(engine, bytes, key: imageKey, deadline: deadline, &timings)
            let start = monotonicNanoseconds()
            let fresh = try engine.predict(
                image: prepared, hypotheses: missing.map { hypotheses[$0] },
                premise: premise)
            timings.modelMs = milliseconds(since: start)
            guard fresh.count == missing.count else {
                throw EngineError.failed("engine returned \(fresh.count) predictions for \(missing.count) hypotheses")
            }
            for (index, prediction) in zip(missing, fresh) {
                results[index] = prediction
                resultCache.insert(prediction, for: resultKey(hypotheses[index]))
            }
        } else {
            timings.imageCached = true
        }
        return results.compactMap { $0 }
    }

    func milliseconds(since start: UInt64) -> Double { Double(monotonicNanoseconds() - start) / 1e6 }
}

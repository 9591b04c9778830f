// Routes each request to its method: cheap ones are answered at once, model ones are validated and queued.
import Foundation
import OFAWire

#if canImport(Glibc)
    import Glibc
#endif

public final class RequestDispatcher: @unchecked Sendable {
    public static let version = "0.1.0"

    public let configuration: DaemonConfiguration
    public let model: ModelHost
    public let queue: RequestQueue
    public let metrics = ServerMetrics()
    let work: PredictionWork
    private let startedAt = Date()
    private let lock = NSLock()
    private var stopping = false
    private var connections = 0
    private var connectionsByUser: [uid_t: Int] = [:]
    private var faultHandler: (@Sendable (String) -> Void)?

    /// Called once, from a worker, when the engine reports after a request that it can never serve again (health
    /// says failed from then on).
    public var onEngineFault: (@Sendable (String) -> Void)? {
        get { lock.withLock { faultHandler } }
        set { lock.withLock { faultHandler = newValue } }
    }

    public init(configuration: DaemonConfiguration, model: ModelHost) {
        self.configuration = configuration
        self.model = model
        queue = RequestQueue(workers: configuration.workers, capacity: configuration.queueCapacity)
        work = PredictionWork(configuration: configuration)
    }

    public var uptimeSeconds: Double { Date().timeIntervalSince(startedAt) }

    /// After this, model requests are answered "shutting down".
    public func beginShutdown() {
        lock.withLock { stopping = true }
        queue.close()
    }

    public var isStopping: Bool { lock.withLock { stopping } }

    /// Admits a new connection from `user` (nil: unknown) if under both limits; else the reason it is refused.
    public func openConnection(user: uid_t? = nil) -> String? {
        let refusal: String? = lock.withLock {
            guard connections < configuration.maximumConnections else {
                return "server busy: too many connections (\(configuration.maximumConnections))"
            }
            if let user {
                let open = connectionsByUser[user, default: 0]
                guard open < configuration.maximumConnectionsPerUser else {
                    return
                        "server busy: too many connections from user \(user) "
                        + "(\(configuration.maximumConnectionsPerUser))"
                }
                connectionsByUser[user] = open + 1
            }
            connections += 1
            return nil
        }
        if refusal == nil { metrics.connectionOpened() } else { metrics.connectionRefused() }
        return refusal
    }

    public func closeConnection(user: uid_t? = nil) {
        lock.withLock {
            connections -= 1
            if let user, let open = connectionsByUser[user] {
                connectionsByUser[user] = open > 1 ? open - 1 : nil
            }
        }
        metrics.connectionClosed()
    }

    /// Handles one frame body. `respond` is called exactly once, from any thread, unless the returned job is
    /// withdrawn silently (the client went away). The job, if any, is for the caller to cancel.
    public func handle(frame: [UInt8], respond: @escaping @Sendable (RPCResponse) -> Void) -> Job? {
        let arrival = monotonicNanoseconds()
        let request: RPCRequest
        switch RPCRequest.parse(frame) {
        case .failure(let rejection):
            metrics.record(method: "other", seconds: 0, errorCode: rejection.error.code)
            respond(RPCResponse(id: rejection.id, idText: rejection.idText, error: rejection.error))
            return nil
        case .success(let parsed):
            request = parsed
        }
        let answer: @Sendable (JobResult) -> Void = { [metrics] result in
            let seconds = Double(monotonicNanoseconds() - arrival) / 1e9
            switch result {
            case .success(let value):
                metrics.record(method: request.method, seconds: seconds, errorCode: nil)
                respond(RPCResponse(id: request.id, idText: request.idText, result: value))
            case .failure(let error):
                metrics.record(method: request.method, seconds: seconds, errorCode: error.code)
                respond(RPCResponse(id: request.id, idText: request.idText, error: error))
            }
        }
        switch request.method {
        case Method.health: answer(.success(health()))
        case Method.status: answer(status())
        case Method.metrics:
            answer(.success((try? JSONValue(encoding: MetricsResult(text: prometheusText()))) ?? .null))
        case Method.predict, Method.attention, Method.render, Method.stats, Method.relevance:
            return enqueue(request, answer: answer)
        default:
            answer(
                .failure(
                    RPCError(
                        code: RPCErrorCode.methodNotFound, message: "unknown method \"\(request.method)\"",
                        data: .array(Method.all.map { .string($0) }))))
        }
        return nil
    }

    private func enqueue(_ request: RPCRequest, answer: @escaping @Sendable (JobResult) -> Void) -> Job? {
        if isStopping {
            answer(.failure(RPCError(code: RPCErrorCode.shuttingDown, message: "the daemon is shutting down")))
            return nil
        }
        guard case .ready(let engine) = model.state else {
            let (state, detail) = model.health
            answer(
                .failure(
                    RPCError(
                        code: RPCErrorCode.modelNotReady, message: "model not ready: \(detail ?? "")",
                        data: .string(state.rawValue))))
            return nil
        }
        let task: PredictionWork.Task
        switch work.validate(request, engine: engine.describe()) {
        case .failure(let error):
            answer(.failure(error))
            return nil
        case .success(let validated):
            task = validated
        }
        let queuedAt = monotonicNanoseconds()
        // The work asks its job whether it was withdrawn (timed out, or its client went away) between passes.
        let handle = JobHandle()
        let job = Job(
            timeoutSeconds: configuration.requestTimeoutSeconds,
            work: { [work, self] startedAt, deadline in
                let result = work.run(
                    task, engine: engine, queuedAt: queuedAt, startedAt: startedAt, deadline: deadline,
                    isWithdrawn: { handle.job?.isFinished ?? true })
                if let fault = engine.fault, model.fail(fault) { onEngineFault?(fault) }
                return result
            },
            completion: answer)
        handle.job = job
        switch queue.submit(job) {
        case .accepted:
            let timeout = configuration.requestTimeoutSeconds
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [weak job, queue] in
                guard let job else { return }
                queue.withdraw(
                    job,
                    finishingWith: .failure(
                        RPCError(
                            code: RPCErrorCode.timedOut, message: "request timed out after \(timeout) s")))
            }
            return job
        case .full:
            job.finish(
                .failure(
                    RPCError(
                        code: RPCErrorCode.serverBusy,
                        message: "server busy: \(queue.capacity) requests already queued")))
        case .closed:
            job.finish(.failure(RPCError(code: RPCErrorCode.shuttingDown, message: "the daemon is shutting down")))
        }
        return nil
    }

    private func health() -> JSONValue {
        let (state, detail) = model.health
        let result = HealthResult(
            state: state, detail: isStopping ? "shutting down" : detail, uptimeSeconds: uptimeSeconds,
            device: model.description?.device)
        return (try? JSONValue(encoding: result)) ?? .null
    }

    private func status() -> JobResult {
        let description = model.description
        let counts = metrics.counts
        let result = StatusResult(
            version: Self.version, state: model.health.0, modelDirectory: configuration.modelDirectory,
            modelChecksum: model.modelChecksum, architecture: description?.architecture ?? "unknown",
            model: description?.model,
            device: description?.device ?? configuration.device.rawValue,
            threads: description?.threads ?? configuration.threads, uptimeSeconds: uptimeSeconds,
            queueDepth: queue.depth, queueCapacity: queue.capacity, connections: metrics.openConnections,
            requestsServed: counts.served, requestsFailed: counts.failed, latency: metrics.latencySummaries(),
            imageCache: work.imageCache.statistics, resultCache: work.resultCache.statistics)
        var withWork = result
        withWork.work = work.progress.snapshot
        withWork.precision = description?.precision ?? configuration.precision.rawValue
        withWork.gpu = description?.gpu
        withWork.closeCalls = description?.closeCalls
        do {
            return .success(try JSONValue(encoding: withWork))
        } catch {
            return .failure(RPCError(code: RPCErrorCode.internalError, message: "\(error)"))
        }
    }

    public func prometheusText() -> String {
        let ready: Double = if case .ready = model.state { 1 } else { 0 }
        var gauges: [(String, String, Double)] = [
            ("ofad_up", "1 when the model is loaded and answering.", ready),
            ("ofad_queue_depth", "Requests waiting for a worker.", Double(queue.depth)),
            ("ofad_queue_capacity", "Most requests that may wait.", Double(queue.capacity)),
            ("ofad_requests_running", "Requests the engine is running now.", Double(queue.running)),
            ("ofad_uptime_seconds", "Seconds since the daemon started.", uptimeSeconds),
        ]
        if let gpu = model.description?.gpu {
            gauges.append(("ofad_gpu_model_bytes", "Device memory the model took at load.", Double(gpu.modelBytes)))
            if let streams = gpu.streams {
                gauges.append(("ofad_gpu_streams", "GPU streams: requests the GPU runs side by side.", Double(streams)))
            }
            if let used = gpu.usedBytes, let total = gpu.totalBytes {
                gauges.append(("ofad_gpu_memory_used_bytes", "Device memory in use on the GPU.", Double(used)))
                gauges.append(("ofad_gpu_memory_total_bytes", "The GPU's memory.", Double(total)))
            }
        }
        let closeCalls = model.description?.closeCalls.map {
            [("ofad_close_calls_total", "bf16 answers scored again as close calls.", Double($0))]
        }
        return metrics.prometheusText(
            gauges: gauges, counters: closeCalls ?? [],
            caches: [("image", work.imageCache.statistics), ("result", work.resultCache.statistics)])
    }
}

/// A weak reference to the job a work closure belongs to (the job owns the closure).
private final class JobHandle: @unchecked Sendable {
    weak var job: Job?
}

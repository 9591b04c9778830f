// ofad's life: listen (own socket or systemd's), load and warm up the model, serve, keep the watchdog fed
// while the serving path is healthy, and on shutdown drain in-flight work within a bound.
import Foundation
import Logging
import NIOCore
import NIOPosix
import OFA
import OFAWire

public enum DaemonError: Error, CustomStringConvertible {
    case socketInUse(String)
    case bindFailed(String, Error)

    public var description: String {
        switch self {
        case .socketInUse(let path): return "another process is already listening on \(path)"
        case .bindFailed(let path, let error): return "cannot listen on \(path): \(error)"
        }
    }
}

public final class Daemon: @unchecked Sendable {
    public let configuration: DaemonConfiguration
    public let dispatcher: RequestDispatcher
    public let notifier: SystemdNotifier
    private let loader: EngineLoader
    private let logger: Logger
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let registry = ConnectionRegistry()
    private var serverChannel: Channel?
    private var ownsSocketFile = false
    private let lock = NSLock()
    private var shutdownStarted = false
    /// The model failed to load, or the engine lost its device later: with --on-load-failure exit, the exit status
    /// is 1 (so that systemd's Restart=on-failure starts a fresh process).
    private var engineFailed = false
    private var watchdogWithheld = false
    private var notifyFailureLogged = false
    private let finished = DispatchSemaphore(value: 0)

    /// systemd's settings (notify socket, watchdog, activated sockets) come from the process environment.
    public init(configuration: DaemonConfiguration, loader: @escaping EngineLoader, logger: Logger) {
        self.configuration = configuration
        self.loader = loader
        self.logger = logger
        notifier = SystemdNotifier()
        dispatcher = RequestDispatcher(configuration: configuration, model: ModelHost())
        dispatcher.onEngineFault = { [weak self] why in self?.engineLost(why) }
    }

    /// The engine can never serve again (its GPU's context was lost): health already says failed.
    private func engineLost(_ why: String) {
        logger.critical("the engine cannot serve again", metadata: ["error": "\(why)"])
        engineCannotServe(status: "Engine failed: \(why)")
    }

    /// The model failed to load or the engine lost its device: tells systemd why, and under --on-load-failure exit
    /// (the unit's) shuts down with exit status 1; else ofad keeps answering health "failed".
    private func engineCannotServe(status: String) {
        notify("STATUS=\(status)")
        lock.withLock { engineFailed = true }
        // Not on the caller's thread: a worker's drain would wait for its own request, whose answer goes out once
        // this returns.
        if configuration.onLoadFailure == .exit { DispatchQueue.global().async { [self] in shutdown() } }
    }

    /// Starts listening and loading; returns at once.
    public func start() throws {
        // The weights file's size, for the GPU's room check (not needed on the CPU).
        let weights =
            configuration.device == .cpu
            ? nil : try? OFAModel.findWeights(in: URL(fileURLWithPath: configuration.modelDirectory))
        let modelBytes = weights.flatMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int } ?? 0
        let (device, reason) = try configuration.device.resolved(
            search: configuration.cudaSearch, modelBytes: modelBytes)
        if let reason { logger.notice("device: \(configuration.device.rawValue) → \(device.rawValue): \(reason)") }
        // The device's precisions: refused here, before listening.
        if case .cuda = device {
            try CUDABackend.check(configuration.precision)
        } else {
            try CPUBackend.check(configuration.precision)
        }
        notify("STATUS=Starting")
        try listen()
        startWatchdog()
        let options = EngineOptions(
            modelDirectory: configuration.modelDirectory,
            threads: configuration.threads == 0
                ? ProcessInfo.processInfo.activeProcessorCount : configuration.threads,
            device: device, maximumImagePixels: configuration.maximumImagePixels, precision: configuration.precision,
            cudaSearch: configuration.cudaSearch,
            kernelCacheDirectory: configuration.kernelCacheDirectory(environment: ProcessInfo.processInfo.environment),
            workers: configuration.workers, closeCallMargin: Float(configuration.closeCallMargin))
        let thread = Thread { [self] in loadModel(options) }
        thread.name = "ofad-load"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Blocks until shutdown has finished; returns the process exit status.
    public func wait() -> Int32 {
        finished.wait()
        finished.signal()
        return lock.withLock { engineFailed && configuration.onLoadFailure == .exit ? 1 : 0 }
    }

    /// Starts, shuts down on SIGTERM or SIGINT, and returns the exit status. SIGHUP is logged and ignored: ofad
    /// has nothing to reload (settings come from the command line and environment), so it neither dies nor drains.
    public func run() throws -> Int32 {
        try start()
        var sources: [DispatchSourceSignal] = []
        signal(SIGHUP, SIG_IGN)
        let hangUp = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangUp.setEventHandler { [logger] in
            logger.notice("SIGHUP ignored: ofad has nothing to reload; restart it to change settings")
        }
        hangUp.resume()
        sources.append(hangUp)
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in
                logger.info("signal received, draining", metadata: ["signal": "\(signalNumber)"])
                shutdown()
            }
            source.resume()
            sources.append(source)
        }
        let status = wait()
        for source in sources { source.cancel() }
        return status
    }

    /// The path clients connect to (nil when serving a socket passed by systemd).
    public var socketPath: String? { ownsSocketFile ? configuration.socketPath : nil }

    // MARK: listening

    private func listen() throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelOption(
                ChannelOptions.writeBufferWaterMark,
                value: .init(low: configuration.maximumUnsentBytes / 2, high: configuration.maximumUnsentBytes)
            )
            .childChannelInitializer { [dispatcher, registry, logger] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionHandler(dispatcher: dispatcher, registry: registry, logger: logger))
                }
            }
        if let activated = try SystemdNotifier.activatedSockets().first {
            serverChannel = try bootstrap.withBoundSocket(activated.descriptor).wait()
            logger.info(
                "serving a socket passed by systemd",
                metadata: ["fd": "\(activated.descriptor)", "name": "\(activated.name)"])
            return
        }
        let path = configuration.socketPath
        if FileManager.default.fileExists(atPath: path) && UnixSocket.isListening(at: path) {
            throw DaemonError.socketInUse(path)
        }
        // The socket file is created 0660 (umask 0117 around bind): no moment in which others may connect.
        // Nothing else creates files while ofad starts listening, so the process-wide umask is safe to change.
        let previousMask = umask(0o117)
        defer { umask(previousMask) }
        do {
            // Removes a stale socket file only (anything else at the path is an error).
            serverChannel = try bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
        } catch {
            throw DaemonError.bindFailed(path, error)
        }
        ownsSocketFile = true
        chmod(path, 0o660)
        logger.info("listening", metadata: ["socket": "\(path)"])
    }

    // MARK: loading

    private func loadModel(_ options: EngineOptions) {
        notify("STATUS=Loading model from \(options.modelDirectory)")
        logger.info(
            "loading model", metadata: ["directory": "\(options.modelDirectory)", "threads": "\(options.threads)"])
        let extender = startLoadTimeoutExtension()
        let started = Date()
        let loaded = dispatcher.model.load(options: options, loader: loader, logger: logger)
        extender.cancel()
        if loaded {
            notify("READY=1\nSTATUS=Serving on \(socketPath ?? "the activated socket")")
            logger.info("ready", metadata: ["seconds": "\(String(format: "%.2f", Date().timeIntervalSince(started)))"])
            // The checksum reads the whole directory: only where a core would be idle, so that the first queries
            // do not share the CPU with it.
            if !IdlePriority.enter() { logger.debug("the checksum runs at normal priority: SCHED_IDLE refused") }
            dispatcher.model.computeChecksum(directory: options.modelDirectory)
        } else {
            let (_, detail) = dispatcher.model.health
            engineCannotServe(status: "Model failed to load: \(detail ?? "unknown error")")
        }
    }

    /// While loading, asks systemd for more start-up time in steps, up to the configured load limit; stops at
    /// once when not started by systemd.
    private func startLoadTimeoutExtension() -> RepeatedTask {
        let step = 10.0
        let limit = Date(timeIntervalSinceNow: configuration.loadTimeoutSeconds)
        return group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(Int64(step))) { [self] task in
            guard Date() < limit, notify("EXTEND_TIMEOUT_USEC=\(UInt64(step * 3 * 1e6))") != false else {
                return task.cancel()
            }
        }
    }

    /// Tells systemd; a failure is logged (the first one as a warning), never fatal. Nil on failure, else
    /// whether it was delivered.
    @discardableResult
    private func notify(_ message: String) -> Bool? {
        do {
            return try notifier.notify(message)
        } catch {
            let first = lock.withLock {
                defer { notifyFailureLogged = true }
                return !notifyFailureLogged
            }
            logger.log(level: first ? .warning : .debug, "cannot notify systemd", metadata: ["error": "\(error)"])
            return nil
        }
    }

    // MARK: watchdog

    /// Pings from the event loop that serves clients, and only while no engine call has run for longer than
    /// twice the request timeout: a hung engine or a stuck event loop stops the pings, and systemd steps in.
    private func startWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        let hangLimit = configuration.requestTimeoutSeconds * 2
        let period = TimeAmount.nanoseconds(Int64(interval / 2 * 1e9))
        group.next().scheduleRepeatedTask(initialDelay: .zero, delay: period) { [self] _ in
            let longest = dispatcher.queue.longestRunningSeconds
            let healthy = longest < hangLimit
            let warn = lock.withLock {
                defer { watchdogWithheld = !healthy }
                return !healthy && !watchdogWithheld
            }
            if healthy {
                notify("WATCHDOG=1")
            } else if warn {
                logger.critical("engine call running for \(Int(longest)) s; withholding the watchdog ping")
            }
        }
    }

    // MARK: shutdown

    /// Stops accepting, drains queued and running requests for up to the drain timeout, answers what is left
    /// with "shutting down", closes every connection and ends `wait()`. Safe to call more than once.
    public func shutdown() {
        let first = lock.withLock {
            defer { shutdownStarted = true }
            return !shutdownStarted
        }
        guard first else { return }
        notify("STOPPING=1\nSTATUS=Draining")
        dispatcher.beginShutdown()
        try? serverChannel?.close().wait()
        if ownsSocketFile { unlink(configuration.socketPath) }
        let drained = dispatcher.queue.waitUntilIdle(timeoutSeconds: configuration.drainTimeoutSeconds)
        if !drained {
            logger.warning("drain timed out; answering the remaining requests with \"shutting down\"")
            let error = RPCError(code: RPCErrorCode.shuttingDown, message: "the daemon is shutting down")
            dispatcher.queue.failPending(with: error)
            dispatcher.queue.failRunning(with: error)
        }
        dispatcher.queue.stopWorkers()
        // Responses already handed to the event loop are written before these closes run.
        let closes = registry.all.map { channel in
            channel.eventLoop.flatSubmit { channel.close() }
        }
        for close in closes { try? close.wait() }
        try? group.syncShutdownGracefully()
        logger.info("stopped", metadata: ["drained": "\(drained)"])
        finished.signal()
    }
}

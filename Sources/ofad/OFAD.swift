// ofad: serves OFA visual entailment over a Unix socket. Options wire into OFAServer.Daemon, nothing more.
import ArgumentParser
import Foundation
import Logging
import OFAServer

@main
struct OFAD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ofad",
        abstract: "Serve OFA visual entailment (image + sentence → yes/no/maybe) over a Unix socket.",
        discussion: """
            Every option can also come from the environment variable shown with it; an option on the command line \
            wins. Logs go to stderr (the journal under systemd). See docs/protocol.md for the wire protocol.
            """)

    @Option(name: .customLong("model-dir"), help: "Model directory. [OFAD_MODEL_DIR; /var/lib/ofad/model]")
    var modelDirectory: String?
    @Option(help: "Socket path (ignored when systemd passes a socket). [OFAD_SOCKET; /run/ofad/ofad.sock]")
    var socket: String?
    @Option(help: "Engine threads, 0 = one per core. [OFAD_THREADS; 0]") var threads: String?
    @Option(help: "cpu, cuda or auto (no GPU backend yet: cuda fails, auto uses the CPU). [OFAD_DEVICE; auto]")
    var device: String?
    @Option(help: "Requests the engine runs at once. [OFAD_WORKERS; 1]") var workers: String?
    @Option(name: .customLong("max-frame-bytes"), help: "Largest request frame. [OFAD_MAX_FRAME_BYTES; 33554432]")
    var maximumFrameBytes: String?
    @Option(
        name: .customLong("max-image-pixels"), help: "Largest image, width×height. [OFAD_MAX_IMAGE_PIXELS; 40000000]")
    var maximumImagePixels: String?
    @Option(
        name: .customLong("max-text-length"),
        help: "Longest hypothesis or premise, characters. [OFAD_MAX_TEXT_LENGTH; 65536]")
    var maximumTextLength: String?
    @Option(name: .customLong("max-hypotheses"), help: "Most hypotheses in one predict. [OFAD_MAX_HYPOTHESES; 64]")
    var maximumHypotheses: String?
    @Option(
        name: .customLong("queue-length"),
        help: "Most requests waiting; more are answered busy. [OFAD_QUEUE_LENGTH; 256]")
    var queueLength: String?
    @Option(
        name: .customLong("request-timeout"),
        help: "Seconds before a request is answered timed out. [OFAD_REQUEST_TIMEOUT; 60]")
    var requestTimeout: String?
    @Option(name: .customLong("max-connections"), help: "Most open connections. [OFAD_MAX_CONNECTIONS; 256]")
    var maximumConnections: String?
    @Option(
        name: .customLong("image-root"),
        help: "Directory whose files may be named by path; repeatable. [OFAD_IMAGE_ROOTS, ':'-separated; none]")
    var imageRoots: [String] = []
    @Option(
        name: .customLong("image-cache-bytes"),
        help: "Bytes of image features kept for reuse, 0 = none. [OFAD_IMAGE_CACHE_BYTES; 268435456]")
    var imageCacheBytes: String?
    @Option(
        name: .customLong("drain-timeout"),
        help: "Seconds SIGTERM waits for in-flight requests. [OFAD_DRAIN_TIMEOUT; 20]")
    var drainTimeout: String?
    @Option(
        name: .customLong("load-timeout"), help: "Longest load systemd is asked to wait for. [OFAD_LOAD_TIMEOUT; 600]")
    var loadTimeout: String?
    @Option(
        name: .customLong("on-load-failure"),
        help: "serve (answer health: failed) or exit (status 1). [OFAD_ON_LOAD_FAILURE; serve]")
    var onLoadFailure: String?
    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error or critical. [OFAD_LOG_LEVEL; info]")
    var logLevel: String?

    func resolvedConfiguration() throws -> DaemonConfiguration {
        var configuration = try DaemonConfiguration.fromEnvironment(ProcessInfo.processInfo.environment)
        let given: [(String, String?)] = [
            ("model-dir", modelDirectory), ("socket", socket), ("threads", threads), ("device", device),
            ("workers", workers), ("max-frame-bytes", maximumFrameBytes), ("max-image-pixels", maximumImagePixels),
            ("max-text-length", maximumTextLength), ("max-hypotheses", maximumHypotheses),
            ("queue-length", queueLength), ("request-timeout", requestTimeout),
            ("max-connections", maximumConnections), ("image-cache-bytes", imageCacheBytes),
            ("drain-timeout", drainTimeout), ("load-timeout", loadTimeout),
            ("on-load-failure", onLoadFailure), ("log-level", logLevel),
            ("image-root", imageRoots.isEmpty ? nil : imageRoots.joined(separator: ":")),
        ]
        for case (let key, let value?) in given { try configuration.set(key, value) }
        guard Logger.Level(rawValue: configuration.logLevel) != nil else {
            throw ConfigurationError.invalid(key: "log-level", why: "\"\(configuration.logLevel)\" is not a level")
        }
        _ = try configuration.device.resolved()
        return configuration
    }

    func validate() throws {
        do {
            _ = try resolvedConfiguration()
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        let configuration = try resolvedConfiguration()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "ofad")
        let daemon = Daemon(configuration: configuration, loader: PipelineEngine.loader, logger: logger)
        let status: Int32
        do {
            status = try daemon.run()
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        throw ExitCode(status)
    }
}

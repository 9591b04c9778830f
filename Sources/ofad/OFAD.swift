// ofad: serves OFA visual entailment over a Unix socket. Options wire into OFAServer.Daemon, nothing more; each
// option's name, variable, default, help and check come from DaemonConfiguration.settings.
import ArgumentParser
import Foundation
import Logging
import OFAServer

private func help(_ name: String) -> ArgumentHelp { ArgumentHelp(DaemonConfiguration.settings.help(name)) }

@main
struct OFAD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ofad",
        abstract: "Serve OFA visual entailment (image + sentence → yes/no/maybe) over a Unix socket.",
        discussion: """
            Every option can also come from the environment variable shown with it; an option on the command line \
            wins. Logs go to stderr (the journal under systemd). See docs/protocol.md for the wire protocol.
            """)

    @Option(name: .customLong("model-dir"), help: help("model-dir")) var modelDirectory: String?
    @Option(help: help("socket")) var socket: String?
    @Option(help: help("threads")) var threads: String?
    @Option(help: help("device")) var device: String?
    @Option(name: .customLong("cuda-library-path"), help: help("cuda-library-path")) var cudaLibraryPath: String?
    @Option(name: .customLong("cache-dir"), help: help("cache-dir")) var cacheDirectory: String?
    @Option(help: help("precision")) var precision: String?
    @Option(help: help("workers")) var workers: String?
    @Option(name: .customLong("close-call-margin"), help: help("close-call-margin")) var closeCallMargin: String?
    @Option(name: .customLong("max-frame-bytes"), help: help("max-frame-bytes")) var maximumFrameBytes: String?
    @Option(name: .customLong("max-image-pixels"), help: help("max-image-pixels")) var maximumImagePixels: String?
    @Option(name: .customLong("max-text-length"), help: help("max-text-length")) var maximumTextLength: String?
    @Option(name: .customLong("max-hypotheses"), help: help("max-hypotheses")) var maximumHypotheses: String?
    @Option(name: .customLong("queue-length"), help: help("queue-length")) var queueLength: String?
    @Option(name: .customLong("request-timeout"), help: help("request-timeout")) var requestTimeout: String?
    @Option(name: .customLong("max-connections"), help: help("max-connections")) var maximumConnections: String?
    @Option(name: .customLong("image-root"), help: help("image-root")) var imageRoots: [String] = []
    @Option(name: .customLong("drain-timeout"), help: help("drain-timeout")) var drainTimeout: String?
    @Option(name: .customLong("load-timeout"), help: help("load-timeout")) var loadTimeout: String?
    @Option(name: .customLong("image-cache-bytes"), help: help("image-cache-bytes")) var imageCacheBytes: String?
    @Option(name: .customLong("on-load-failure"), help: help("on-load-failure")) var onLoadFailure: String?
    @Option(name: .customLong("log-level"), help: help("log-level")) var logLevel: String?

    func resolvedConfiguration() throws -> DaemonConfiguration {
        let given: [String: String?] = [
            "model-dir": modelDirectory, "socket": socket, "threads": threads, "device": device,
            "cuda-library-path": cudaLibraryPath, "cache-dir": cacheDirectory, "precision": precision,
            "workers": workers, "close-call-margin": closeCallMargin,
            "max-frame-bytes": maximumFrameBytes, "max-image-pixels": maximumImagePixels,
            "max-text-length": maximumTextLength, "max-hypotheses": maximumHypotheses, "queue-length": queueLength,
            "request-timeout": requestTimeout, "max-connections": maximumConnections, "drain-timeout": drainTimeout,
            "load-timeout": loadTimeout, "image-cache-bytes": imageCacheBytes, "on-load-failure": onLoadFailure,
            "log-level": logLevel, "image-root": imageRoots.isEmpty ? nil : imageRoots.joined(separator: ":"),
        ]
        return try DaemonConfiguration.resolve(
            commandLine: given.compactMapValues { $0 }, environment: ProcessInfo.processInfo.environment)
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

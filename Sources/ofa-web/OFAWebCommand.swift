// ofa-web: the browser client of ofad. Options wire into OFAWeb.WebServer, nothing more; each option's name,
// variable, default, help and check come from WebConfiguration.settings.
import ArgumentParser
import Foundation
import Logging
import OFAWeb

private func help(_ name: String) -> ArgumentHelp { ArgumentHelp(WebConfiguration.settings.help(name)) }

@main
struct OFAWebCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ofa-web",
        abstract: "Serve a web page that asks ofad (image + sentence → yes/no/maybe) and shows where the model looked.",
        discussion: """
            The page talks to this process over HTTP; this process talks to ofad over its Unix socket. No model is \
            loaded here. Every option can also come from the environment variable shown with it; the command line \
            wins.
            """)

    @Option(help: help("host")) var host: String?
    @Option(help: help("port")) var port: String?
    @Flag(name: .customLong("allow-remote"), help: help("allow-remote")) var allowRemote = false
    @Option(help: help("socket")) var socket: String?
    @Option(name: .customLong("max-upload-bytes"), help: help("max-upload-bytes")) var maximumUploadBytes: String?
    @Option(name: .customLong("max-text-length"), help: help("max-text-length")) var maximumTextLength: String?
    @Option(help: help("threads")) var threads: String?
    @Option(name: .customLong("server-name"), help: help("server-name")) var serverName: String?
    @Option(name: .customLong("max-connections"), help: help("max-connections")) var maximumConnections: String?
    @Option(name: .customLong("idle-timeout"), help: help("idle-timeout")) var idleTimeout: String?
    @Option(name: .customLong("request-timeout"), help: help("request-timeout")) var requestTimeout: String?
    @Option(name: .customLong("max-bytes-in-flight"), help: help("max-bytes-in-flight")) var bytesInFlight: String?
    @Option(name: .customLong("log-level"), help: help("log-level")) var logLevel: String?

    func resolvedConfiguration() throws -> WebConfiguration {
        let given: [String: String?] = [
            "host": host, "port": port, "allow-remote": allowRemote ? "true" : nil, "socket": socket,
            "max-upload-bytes": maximumUploadBytes, "max-text-length": maximumTextLength, "threads": threads,
            "server-name": serverName, "max-connections": maximumConnections, "idle-timeout": idleTimeout,
            "request-timeout": requestTimeout, "max-bytes-in-flight": bytesInFlight, "log-level": logLevel,
        ]
        do {
            return try WebConfiguration.resolve(
                commandLine: given.compactMapValues { $0 }, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        let configuration = try resolvedConfiguration()
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "ofa-web")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        let server = WebServer(configuration: configuration, logger: logger)
        do {
            try server.start()
        } catch {
            logger.critical("cannot listen on \(configuration.host):\(configuration.port): \(error)")
            throw ExitCode(1)
        }
        try server.wait()
    }
}

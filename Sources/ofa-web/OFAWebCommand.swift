// ofa-web: the browser client of ofad. Options wire into OFAWeb.WebServer, nothing more.
import ArgumentParser
import Foundation
import Logging
import OFAWeb

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

    @Option(help: "Address to listen on. [OFA_WEB_HOST; 127.0.0.1]") var host: String?
    @Option(help: "TCP port. [OFA_WEB_PORT; 7860]") var port: Int?
    @Flag(
        name: .customLong("allow-remote"),
        help: "Allow a --host beyond loopback; anyone who reaches it can use the model. [OFA_WEB_ALLOW_REMOTE=1]")
    var allowRemote = false
    @Option(help: "ofad's socket. [OFAD_SOCKET; /run/ofad/ofad.sock]") var socket: String?
    @Option(
        name: .customLong("max-upload-bytes"),
        help: "Largest request body (the image travels as base64). [OFA_WEB_MAX_UPLOAD_BYTES; 16777216]")
    var maximumUploadBytes: Int?
    @Option(
        name: .customLong("max-text-length"),
        help: "Longest hypothesis or premise, characters. [OFA_WEB_MAX_TEXT_LENGTH; 65536]")
    var maximumTextLength: Int?
    @Option(help: "Threads waiting on ofad at once. [OFA_WEB_THREADS; 8]") var threads: Int?
    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error or critical. [OFA_WEB_LOG_LEVEL; info]")
    var logLevel: String?

    func resolvedConfiguration() throws -> WebConfiguration {
        let environment = ProcessInfo.processInfo.environment
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func envInteger(_ name: String) throws -> Int? {
            guard let text = env(name) else { return nil }
            guard let value = Int(text) else { throw ValidationError("\(name)=\(text) is not a whole number") }
            return value
        }
        var configuration = WebConfiguration()
        configuration.host = host ?? env("OFA_WEB_HOST") ?? configuration.host
        configuration.port = try port ?? envInteger("OFA_WEB_PORT") ?? configuration.port
        configuration.allowRemote = allowRemote || ["1", "true", "yes"].contains(env("OFA_WEB_ALLOW_REMOTE") ?? "")
        configuration.socketPath = socket ?? env("OFAD_SOCKET") ?? configuration.socketPath
        configuration.maximumBodyBytes =
            try maximumUploadBytes ?? envInteger("OFA_WEB_MAX_UPLOAD_BYTES") ?? configuration.maximumBodyBytes
        configuration.maximumTextLength =
            try maximumTextLength ?? envInteger("OFA_WEB_MAX_TEXT_LENGTH") ?? configuration.maximumTextLength
        configuration.gatewayThreads = try threads ?? envInteger("OFA_WEB_THREADS") ?? configuration.gatewayThreads
        do {
            try configuration.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        return configuration
    }

    func run() throws {
        let configuration = try resolvedConfiguration()
        let levelName = logLevel ?? ProcessInfo.processInfo.environment["OFA_WEB_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            throw ValidationError("\"\(levelName)\" is not a log level")
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "ofa-web")
        logger.logLevel = level
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

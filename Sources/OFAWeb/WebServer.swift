// Listens on TCP (loopback unless asked otherwise) and serves WebApplication over HTTP/1.1 with swift-nio: each
// connection is a ConnectionGuard (limit, timeouts), NIO's HTTP/1.1 server pipeline (pipelining serialised), and an
// HTTPHandler; all share the connection count and the budget of body bytes in flight.
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

public final class WebServer: @unchecked Sendable {
    public let configuration: WebConfiguration
    private let application: WebApplication
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let threadPool: NIOThreadPool
    private let connections: Budget
    private let uploads: Budget
    private var channel: Channel?

    /// `gateway` defaults to the daemon at `configuration.socketPath`.
    public init(configuration: WebConfiguration, gateway: DaemonGateway? = nil, logger: Logger) {
        self.configuration = configuration
        self.application = WebApplication(
            configuration: configuration, gateway: gateway ?? SocketGateway(socketPath: configuration.socketPath))
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        threadPool = NIOThreadPool(numberOfThreads: configuration.gatewayThreads)
        connections = Budget(limit: configuration.maximumConnections)
        uploads = Budget(limit: configuration.maximumBytesInFlight)
    }

    /// Binds and starts serving; returns the port actually bound (useful with port 0).
    @discardableResult
    public func start() throws -> Int {
        try configuration.validate()
        threadPool.start()
        let application = self.application
        let threadPool = self.threadPool
        let logger = self.logger
        let configuration = self.configuration
        let connections = self.connections
        let uploads = self.uploads
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(ConnectionGuard(connections: connections, configuration: configuration))
                    try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try pipeline.addHandler(
                        HTTPHandler(application: application, threadPool: threadPool, uploads: uploads, logger: logger))
                }
            }
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: false)
        let channel = try bootstrap.bind(host: configuration.host, port: configuration.port).wait()
        self.channel = channel
        let port = channel.localAddress?.port ?? configuration.port
        if !configuration.listensOnLoopbackOnly {
            logger.warning(
                "listening on \(configuration.host), beyond this machine: anyone who reaches this port can use the model"
            )
        }
        logger.info("serving http://\(configuration.host):\(port)/ for ofad at \(configuration.socketPath)")
        return port
    }

    /// Blocks until the listener closes.
    public func wait() throws {
        try channel?.closeFuture.wait()
    }

    public func shutdown() {
        try? channel?.close().wait()
        try? threadPool.syncShutdownGracefully()
        try? group.syncShutdownGracefully()
    }
}

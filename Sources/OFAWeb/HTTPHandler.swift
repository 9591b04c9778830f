// One HTTP connection: collects a request, enforcing the body limit before the body is read, hands it to the
// application on a gateway thread (the daemon call blocks), and writes the answer. Failures close this
// connection only; a client that goes away withdraws its daemon call.
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, body: [UInt8])
        /// A response went out before the body ended (too large, wrong host): the rest is dropped, then closed.
        case rejected
        case waiting
    }

    private let application: WebApplication
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private var state = State.idle
    /// The daemon call of the request being answered, withdrawn if the connection closes first.
    private var pendingCall: CallCancellation?

    init(application: WebApplication, threadPool: NIOThreadPool, logger: Logger) {
        self.application = application
        self.threadPool = threadPool
        self.logger = logger
    }

    private var limit: Int { application.configuration.maximumBodyBytes }

    func channelInactive(context: ChannelHandlerContext) {
        pendingCall?.cancel()
        pendingCall = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if let error = check(head) {
                state = .rejected
                write(context, .error(error), head: head, keepAlive: false)
                return
            }
            if head.headers.first(name: "Expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            state = .receiving(head, body: [])
        case .body(let buffer):
            guard case .receiving(let head, var body) = state else { return }
            // Chunked bodies have no length up front: count them as they come.
            guard body.count + buffer.readableBytes <= limit else {
                state = .rejected
                let error = WebError.bodyTooLarge(length: body.count + buffer.readableBytes, limit: limit)
                write(context, .error(error), head: head, keepAlive: false)
                return
            }
            state = .idle  // lets `body` be uniquely referenced while it grows
            body.append(contentsOf: buffer.readableBytesView)
            state = .receiving(head, body: body)
        case .end:
            guard case .receiving(let head, let body) = state else { return }
            state = .waiting
            dispatch(context, head: head, body: body)
        }
    }

    /// What can be refused from the head alone: a wrong Host, or a declared body over the limit.
    private func check(_ head: HTTPRequestHead) -> WebError? {
        if application.configuration.listensOnLoopbackOnly, let host = head.headers.first(name: "Host"),
            !WebConfiguration.isLoopback(Self.hostName(host))
        {
            // A name that resolves to this loopback server but is not loopback itself: DNS rebinding.
            return .misdirected(host: host)
        }
        if let declared = head.headers.first(name: "Content-Length").flatMap(Int.init), declared > limit {
            return .bodyTooLarge(length: declared, limit: limit)
        }
        return nil
    }

    /// "127.0.0.1:7860" → "127.0.0.1", "[::1]:7860" → "::1", "localhost" → "localhost".
    static func hostName(_ host: String) -> String {
        if host.hasPrefix("["), let end = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<end])
        }
        return String(host.split(separator: ":", maxSplits: 1).first ?? "")
    }

    private func dispatch(_ context: ChannelHandlerContext, head: HTTPRequestHead, body: [UInt8]) {
        let path = String(head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        let request = WebRequest(method: head.method, path: path, headers: head.headers, body: body)
        let application = self.application
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let started = NIODeadline.now()
        let cancellation = CallCancellation()
        pendingCall = cancellation
        threadPool.runIfActive(eventLoop: context.eventLoop) {
            application.respond(to: request, cancellation: cancellation)
        }.whenComplete { result in
            let (handler, context) = bound.value
            handler.pendingCall = nil
            let response: WebResponse
            switch result {
            case .success(let answer): response = answer
            case .failure(let error): response = .error(.daemonBroken("\(error)"))
            }
            let milliseconds = (NIODeadline.now() - started).nanoseconds / 1_000_000
            handler.logger.info(
                "\(head.method) \(path) \(response.status.code) \(milliseconds) ms",
                metadata: response.status.code >= 500
                    ? ["body": "\(String(decoding: response.body.prefix(300), as: UTF8.self))"] : [:])
            handler.state = .idle
            handler.write(context, response, head: head, keepAlive: head.isKeepAlive)
        }
    }

    private func write(
        _ context: ChannelHandlerContext, _ response: WebResponse, head: HTTPRequestHead, keepAlive: Bool
    ) {
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.count)")
        headers.replaceOrAdd(name: "Content-Security-Policy", value: StaticAssets.contentSecurityPolicy)
        headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        headers.replaceOrAdd(name: "Referrer-Policy", value: "no-referrer")
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))),
            promise: nil)
        if head.method != .HEAD && !response.body.isEmpty {
            let buffer = context.channel.allocator.buffer(bytes: response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}

// One HTTP connection: collects a request, enforcing the Host rule, the body limit and the budget of body bytes in
// flight before the body is read, hands it to the application on a gateway thread (the daemon call blocks), and
// writes the answer. Pipelined requests come one at a time (HTTPServerPipelineHandler holds the next until this
// answer ends). Failures close this connection only; a client that goes away withdraws its daemon call.
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
        /// A response went out before the body ended (too large, wrong host, no budget): the rest is dropped, then
        /// closed.
        case rejected
        case waiting
    }

    private let application: WebApplication
    private let threadPool: NIOThreadPool
    /// Body bytes held by all connections, from the head until the answer.
    private let uploads: Budget
    private let logger: Logger
    private var state = State.idle
    /// What this connection's request holds of `uploads`.
    private var reservedBytes = 0
    /// The daemon call of the request being answered, withdrawn if the connection closes first.
    private var pendingCall: CallCancellation?

    init(application: WebApplication, threadPool: NIOThreadPool, uploads: Budget, logger: Logger) {
        self.application = application
        self.threadPool = threadPool
        self.uploads = uploads
        self.logger = logger
    }

    private var limit: Int { application.configuration.maximumBodyBytes }

    func channelInactive(context: ChannelHandlerContext) {
        if let call = pendingCall {
            call.cancel()  // its completion gives the body's bytes back once the gateway thread lets go of them
        } else {
            releaseBody()
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            progress(context, .started)
            if let error = check(head) {
                reject(context, error, head: head)
                return
            }
            let declared = max(0, head.headers.first(name: "Content-Length").flatMap(Int.init) ?? 0)
            guard reserve(declared) else {
                reject(context, .uploadsInFlight(length: declared, limit: uploads.limit), head: head)
                return
            }
            if head.headers.first(name: "Expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            var body: [UInt8] = []
            body.reserveCapacity(declared)  // within the limit and the budget: no copies as it grows
            state = .receiving(head, body: body)
        case .body(let buffer):
            guard case .receiving(let head, var body) = state else { return }
            // Chunked bodies have no length up front: count them as they come.
            guard body.count + buffer.readableBytes <= limit else {
                reject(context, .bodyTooLarge(length: body.count + buffer.readableBytes, limit: limit), head: head)
                return
            }
            guard reserve(body.count + buffer.readableBytes) else {
                reject(
                    context, .uploadsInFlight(length: body.count + buffer.readableBytes, limit: uploads.limit),
                    head: head)
                return
            }
            state = .idle  // lets `body` be uniquely referenced while it grows
            body.append(contentsOf: buffer.readableBytesView)
            state = .receiving(head, body: body)
        case .end:
            guard case .receiving(let head, let body) = state else { return }
            state = .waiting
            progress(context, .received)
            dispatch(context, head: head, body: body)
        }
    }

    /// Answers before the body is read and closes; the body's bytes are given back at once.
    private func reject(_ context: ChannelHandlerContext, _ error: WebError, head: HTTPRequestHead) {
        state = .rejected
        releaseBody()
        progress(context, .received)
        write(context, .error(error), head: head, keepAlive: false)
    }

    /// Makes this request hold `total` body bytes of the shared budget (a declared length at once, a chunked body
    /// as it grows); false when that would pass the budget.
    private func reserve(_ total: Int) -> Bool {
        guard total > reservedBytes else { return true }
        guard uploads.take(total - reservedBytes) else { return false }
        reservedBytes = total
        return true
    }

    private func releaseBody() {
        uploads.giveBack(reservedBytes)
        reservedBytes = 0
    }

    private func progress(_ context: ChannelHandlerContext, _ progress: RequestProgress) {
        context.triggerUserOutboundEvent(progress, promise: nil)
    }

    /// What can be refused from the head alone: a wrong Host, or a declared body over the limit.
    private func check(_ head: HTTPRequestHead) -> WebError? {
        if let refusal = HostHeader.refusal(of: head, configuration: application.configuration) {
            return refusal
        }
        if let declared = head.headers.first(name: "Content-Length").flatMap(Int.init), declared > limit {
            return .bodyTooLarge(length: declared, limit: limit)
        }
        return nil
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
            handler.releaseBody()
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
            handler.write(context, response, head: head, keepAlive: head.isKeepAlive && !Self.switchesProtocol(head))
        }
    }

    /// A request asking to leave HTTP/1.1 (Upgrade, CONNECT): none is offered, and NIO's decoder reads nothing after
    /// it, so a request pipelined behind it would wait forever; its connection closes after the answer instead.
    static func switchesProtocol(_ head: HTTPRequestHead) -> Bool {
        head.method == .CONNECT || head.headers.contains(name: "Upgrade")
    }

    private func write(
        _ context: ChannelHandlerContext, _ response: WebResponse, head: HTTPRequestHead, keepAlive: Bool
    ) {
        let headers = response.headers(keepAlive: keepAlive)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))),
            promise: nil)
        if head.method != .HEAD && !response.body.isEmpty {
            let buffer = context.channel.allocator.buffer(bytes: response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        // Before the end: writing it lets a pipelined request in at once, which starts its own timing.
        progress(context, .answered)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            // Output only: ConnectionGuard drains what the client still sends, so it reads the answer, not a reset.
            let channel = context.channel
            done.whenComplete { _ in channel.close(mode: .output, promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}

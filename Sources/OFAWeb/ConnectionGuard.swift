// One connection below HTTP: admits it under the connection limit (503 and close over it), closes it when it idles
// between requests past the idle timeout, and answers 408 and closes when a request has not fully arrived within
// the request timeout of its first byte (slowloris). No timer runs while ofad works on an answer.
import NIOCore

/// What HTTPHandler tells the guard, as a user outbound event, as each request goes by.
enum RequestProgress {
    /// A request head was read; a pipelined one may have arrived with bytes already read.
    case started
    /// The request was read to its end, or refused: nothing to time until its answer.
    case received
    /// Its answer is being written: the connection idles until the next request.
    case answered
}

final class ConnectionGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private enum Phase {
        case idle
        case receiving
        case answering
        /// Refused or timed out: reads are dropped while the answer goes out, then the connection closes.
        case closing
    }

    /// How long a connection whose answer ends it has to read that answer before it is closed.
    static let refusalGrace = TimeAmount.seconds(1)

    private let connections: Budget
    private let idleTimeout: TimeAmount
    private let requestTimeout: TimeAmount
    private let requestTimeoutSeconds: Double
    /// Whether this connection holds one of `connections`.
    private var admitted = false
    private var phase = Phase.idle
    private var timer: Scheduled<Void>?

    init(connections: Budget, configuration: WebConfiguration) {
        self.connections = connections
        idleTimeout = Self.timeAmount(configuration.idleTimeout)
        requestTimeout = Self.timeAmount(configuration.requestTimeout)
        requestTimeoutSeconds = configuration.requestTimeout
    }

    static func timeAmount(_ seconds: Double) -> TimeAmount { .nanoseconds(Int64((seconds * 1e9).rounded())) }

    func channelActive(context: ChannelHandlerContext) {
        if connections.take(1) {
            admitted = true
            idle(context)
        } else {
            refuse(context, .tooManyConnections(limit: connections.limit))
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if admitted {
            admitted = false
            connections.giveBack(1)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .closing: return
        case .idle: receive(context)
        case .receiving, .answering: break
        }
        context.fireChannelRead(data)
    }

    /// Closing output (an answer that ends the connection) keeps reading, dropping what the client still sends,
    /// until it closes too or the grace ends: closing with unread bytes would reset the connection, answer and all.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .output && phase != .closing {
            phase = .closing
            schedule(context, after: Self.refusalGrace) { _, context in context.close(promise: nil) }
        }
        context.close(mode: mode, promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let progress = event as? RequestProgress else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed(())
        switch (progress, phase) {
        case (_, .closing): break
        case (.started, .idle): receive(context)
        case (.started, _): break
        case (.received, _):
            phase = .answering
            timer?.cancel()
            timer = nil
        case (.answered, _): idle(context)
        }
    }

    /// Waiting for the next request: closed quietly after the idle timeout.
    private func idle(_ context: ChannelHandlerContext) {
        phase = .idle
        schedule(context, after: idleTimeout) { handler, context in
            handler.phase = .closing
            context.close(promise: nil)
        }
    }

    /// A request has begun: it must have arrived within the request timeout.
    private func receive(_ context: ChannelHandlerContext) {
        phase = .receiving
        schedule(context, after: requestTimeout) { handler, context in
            handler.refuse(context, .requestTimeout(seconds: handler.requestTimeoutSeconds))
        }
    }

    /// Answers below the HTTP encoder (no request may have been read), ends output, and closes after a grace.
    private func refuse(_ context: ChannelHandlerContext, _ error: WebError) {
        phase = .closing
        let channel = context.channel
        let message = channel.allocator.buffer(bytes: WebResponse.error(error).closingMessage())
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(message))).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
        schedule(context, after: Self.refusalGrace) { _, context in context.close(promise: nil) }
    }

    private func schedule(
        _ context: ChannelHandlerContext, after delay: TimeAmount,
        _ action: @escaping (ConnectionGuard, ChannelHandlerContext) -> Void
    ) {
        timer?.cancel()
        let bound = NIOLoopBound((self, context, action), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: delay) {
            let (handler, context, action) = bound.value
            handler.timer = nil
            action(handler, context)
        }
    }
}

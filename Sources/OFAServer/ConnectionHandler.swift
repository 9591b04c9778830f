// One client connection: cuts frames, hands them to the dispatcher, writes responses back as they finish.
// Anything that goes wrong here closes this connection only, and only after every request it received whole has
// been answered. Its memory is bounded: at most `maximumInFlight` requests at once, no reading while its unsent
// answers pass the write buffer's high-water mark, and timeouts for idle connections and slow frames.
import Foundation
import Logging
import NIOCore
import OFAWire

#if canImport(Glibc)
    import Glibc
#endif

final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Requests of one connection that may be unanswered at once; past it the connection stops reading, so a
    /// pipelining client is slowed down rather than answered "busy".
    static let maximumInFlight = 16

    private let dispatcher: RequestDispatcher
    private let registry: ConnectionRegistry
    private let logger: Logger
    private var decoder: FrameDecoder
    private var context: ChannelHandlerContext?
    private var inFlight: [Int: Job] = [:]
    private var unanswered = 0
    private var nextToken = 0
    private var admitted = false
    /// The peer's user id (nil where the socket cannot tell).
    private var admittedUser: uid_t?
    private var inputClosed = false
    /// No more frames are taken; the connection closes once the unanswered requests are answered, after
    /// `finalResponse` if there is one.
    private var closing = false
    private var finalResponse: RPCResponse?
    private var lastActivity = monotonicNanoseconds()
    /// When the bytes of the frame now being received began to arrive (nil: not waiting for the client).
    private var frameStartedAt: UInt64?
    /// Since when the client has not read its answers (the channel is not writable).
    private var unwritableSince: UInt64?
    private var timer: RepeatedTask?

    init(dispatcher: RequestDispatcher, registry: ConnectionRegistry, logger: Logger) {
        self.dispatcher = dispatcher
        self.registry = registry
        self.logger = logger
        decoder = FrameDecoder(maximumLength: dispatcher.configuration.maximumFrameLength)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelActive(context: ChannelHandlerContext) {
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        Self.peerUser(context.channel).whenComplete { result in
            handler.value.admit(context, user: (try? result.get()) ?? nil)
        }
        context.fireChannelActive()
    }

    private func admit(_ context: ChannelHandlerContext, user: uid_t?) {
        guard context.channel.isActive else { return }
        if let refusal = dispatcher.openConnection(user: user) {
            closing = true
            let error = RPCError(code: RPCErrorCode.serverBusy, message: refusal)
            writeThenClose(context, RPCResponse(id: .null, error: error))
            return
        }
        admitted = true
        admittedUser = user
        registry.add(context.channel)
        startTimer(context)
        processFrames(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The client went away: its queued work is withdrawn, and running work is answered to no one.
        for job in inFlight.values { dispatcher.queue.withdraw(job, finishingWith: nil) }
        inFlight.removeAll()
        timer?.cancel()
        timer = nil
        if admitted {
            admitted = false
            dispatcher.closeConnection(user: admittedUser)
            registry.remove(context.channel)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let buffer = unwrapInboundIn(data)
        lastActivity = monotonicNanoseconds()
        decoder.append(buffer.readableBytesView)
        if admitted { processFrames(context) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            unwritableSince = nil
            if admitted && !closing { processFrames(context) }
        } else if unwritableSince == nil {
            unwritableSince = monotonicNanoseconds()
            updateReading(context)
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, event == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        inputClosed = true
        guard admitted else { return }
        processFrames(context)
        closeIfDone(context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func processFrames(_ context: ChannelHandlerContext) {
        while !closing && unanswered < Self.maximumInFlight && context.channel.isWritable {
            let frame: [UInt8]
            do {
                guard let next = try decoder.nextFrame() else { break }
                frame = next
            } catch {
                // An oversized header: the body is not read; the requests before it are still answered.
                logger.notice("refused a frame", metadata: ["error": "\(error)"])
                dispatcher.metrics.record(method: "other", seconds: 0, errorCode: RPCErrorCode.inputTooLarge)
                finish(context, with: RPCError(code: RPCErrorCode.inputTooLarge, message: "\(error)"))
                return
            }
            let token = nextToken
            nextToken += 1
            unanswered += 1
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            let job = dispatcher.handle(frame: frame) { response in
                eventLoop.execute { handler.value.deliver(response, token: token) }
            }
            if let job, !job.isFinished { inFlight[token] = job }
        }
        if decoder.bufferedByteCount == 0 || decoder.hasCompleteFrame {
            frameStartedAt = nil
        } else if frameStartedAt == nil {
            frameStartedAt = monotonicNanoseconds()
        }
        if inputClosed && !closing && decoder.bufferedByteCount > 0 && !decoder.hasCompleteFrame {
            // The client stopped sending inside a frame.
            do {
                try decoder.finish()
            } catch {
                finish(context, with: RPCError(code: RPCErrorCode.parseError, message: "\(error)"))
            }
        }
        updateReading(context)
    }

    /// Reads while more requests may be taken and the client reads its answers.
    private func updateReading(_ context: ChannelHandlerContext) {
        let reading = !closing && unanswered < Self.maximumInFlight && context.channel.isWritable
        context.channel.setOption(ChannelOptions.autoRead, value: reading).whenComplete { _ in }
    }

    /// Stops taking frames; `error` is the last answer, after those of every request already taken.
    private func finish(_ context: ChannelHandlerContext, with error: RPCError) {
        closing = true
        finalResponse = RPCResponse(id: .null, error: error)
        updateReading(context)
        closeIfDone(context)
    }

    private func deliver(_ response: RPCResponse, token: Int) {
        unanswered -= 1
        inFlight[token] = nil
        guard let context, context.channel.isActive else { return }
        context.writeAndFlush(frame(response, context), promise: nil)
        if !closing { processFrames(context) }
        closeIfDone(context)
    }

    private func closeIfDone(_ context: ChannelHandlerContext) {
        guard unanswered == 0 else { return }
        if closing {
            guard let response = finalResponse else { return }
            finalResponse = nil
            writeThenClose(context, response)
        } else if inputClosed && decoder.bufferedByteCount == 0 {
            closing = true
            context.close(promise: nil)
        }
    }

    private func writeThenClose(_ context: ChannelHandlerContext, _ response: RPCResponse) {
        context.writeAndFlush(frame(response, context)).whenComplete { _ in context.close(promise: nil) }
    }

    private func frame(_ response: RPCResponse, _ context: ChannelHandlerContext) -> NIOAny {
        let body = response.serialized()
        var buffer = context.channel.allocator.buffer(capacity: body.count + FrameCoder.headerSize)
        buffer.writeBytes(FrameCoder.header(length: body.count))
        buffer.writeBytes(body)
        return wrapOutboundOut(buffer)
    }

    // MARK: timeouts

    private func startTimer(_ context: ChannelHandlerContext) {
        let configuration = dispatcher.configuration
        let shortest = min(configuration.idleTimeoutSeconds, configuration.frameTimeoutSeconds)
        let period = TimeAmount.nanoseconds(Int64(max(0.05, min(1, shortest / 4)) * 1e9))
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            handler.value.checkTimeouts()
        }
    }

    private func checkTimeouts() {
        guard let context else { return }
        let configuration = dispatcher.configuration
        let now = monotonicNanoseconds()
        func seconds(since time: UInt64) -> Double { Double(now &- time) / 1e9 }
        if let since = unwritableSince, seconds(since: since) > configuration.idleTimeoutSeconds {
            logger.notice("the client has not read its answers; closing the connection")
            context.close(promise: nil)
            return
        }
        guard !closing else { return }
        if let started = frameStartedAt, seconds(since: started) > configuration.frameTimeoutSeconds {
            logger.notice("a frame took too long to arrive; closing the connection")
            let message =
                "request frame not received within \(SettingFormat.seconds(configuration.frameTimeoutSeconds)) s "
                + "(\(decoder.bufferedByteCount) bytes arrived)"
            finish(context, with: RPCError(code: RPCErrorCode.timedOut, message: message))
        } else if unanswered == 0 && decoder.bufferedByteCount == 0
            && seconds(since: lastActivity) > configuration.idleTimeoutSeconds
        {
            logger.debug("idle connection closed")
            closing = true
            context.close(promise: nil)
        }
    }

    /// The connecting process's user id (SO_PEERCRED); nil where the socket cannot tell.
    private static func peerUser(_ channel: Channel) -> EventLoopFuture<uid_t?> {
        guard let provider = channel as? SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
        let option = NIOBSDSocket.Option(rawValue: SO_PEERCRED)
        let credentials: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: .socket, name: option)
        return credentials.map { Optional($0.uid) }
    }
}

/// Linux's struct ucred (SO_PEERCRED), which Glibc's module does not import without _GNU_SOURCE.
private struct PeerCredentials {
    var pid: pid_t = 0
    var uid: uid_t = 0
    var gid: gid_t = 0
}

/// Seconds as settings print them ("30", "0.5").
enum SettingFormat {
    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// The open connections, so shutdown can close them after the last responses are written.
final class ConnectionRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var channels: [ObjectIdentifier: Channel] = [:]

    func add(_ channel: Channel) { lock.withLock { channels[ObjectIdentifier(channel)] = channel } }
    func remove(_ channel: Channel) { lock.withLock { channels[ObjectIdentifier(channel)] = nil } }
    var all: [Channel] { lock.withLock { Array(channels.values) } }
}

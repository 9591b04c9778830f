// One client connection: cuts frames, hands them to the dispatcher, writes responses back as they finish.
// Anything that goes wrong here closes this connection only.
import Foundation
import Logging
import NIOCore
import OFAWire

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
    private var inputClosed = false
    private var closing = false

    init(dispatcher: RequestDispatcher, registry: ConnectionRegistry, logger: Logger) {
        self.dispatcher = dispatcher
        self.registry = registry
        self.logger = logger
        decoder = FrameDecoder(maximumLength: dispatcher.configuration.maximumFrameLength)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelActive(context: ChannelHandlerContext) {
        guard dispatcher.openConnection() else {
            closing = true
            let error = RPCError(code: RPCErrorCode.serverBusy, message: "server busy: too many connections")
            writeThenClose(context, RPCResponse(id: .null, error: error))
            return
        }
        admitted = true
        registry.add(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The client went away: its queued work is withdrawn, and running work is answered to no one.
        for job in inFlight.values { dispatcher.queue.withdraw(job, finishingWith: nil) }
        inFlight.removeAll()
        if admitted {
            admitted = false
            dispatcher.closeConnection()
            registry.remove(context.channel)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let buffer = unwrapInboundIn(data)
        decoder.append(buffer.readableBytesView)
        processFrames(context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, event == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        inputClosed = true
        processFrames(context)
        closeIfDone(context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func processFrames(_ context: ChannelHandlerContext) {
        while !closing && unanswered < Self.maximumInFlight {
            let frame: [UInt8]
            do {
                guard let next = try decoder.nextFrame() else { break }
                frame = next
            } catch {
                // An oversized header: answer once, then close without reading the body.
                closing = true
                logger.notice("refused a frame", metadata: ["error": "\(error)"])
                dispatcher.metrics.record(method: "other", seconds: 0, errorCode: RPCErrorCode.inputTooLarge)
                let rpcError = RPCError(code: RPCErrorCode.inputTooLarge, message: "\(error)")
                writeThenClose(context, RPCResponse(id: .null, error: rpcError))
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
        context.channel.setOption(ChannelOptions.autoRead, value: unanswered < Self.maximumInFlight).whenComplete { _ in
        }
        if inputClosed && !closing && decoder.bufferedByteCount > 0 && unanswered < Self.maximumInFlight {
            // The client stopped sending inside a frame.
            do {
                try decoder.finish()
            } catch {
                closing = true
                let rpcError = RPCError(code: RPCErrorCode.parseError, message: "\(error)")
                writeThenClose(context, RPCResponse(id: .null, error: rpcError))
            }
        }
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
        if inputClosed && unanswered == 0 && decoder.bufferedByteCount == 0 && !closing {
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
}

/// The open connections, so shutdown can close them after the last responses are written.
final class ConnectionRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var channels: [ObjectIdentifier: Channel] = [:]

    func add(_ channel: Channel) { lock.withLock { channels[ObjectIdentifier(channel)] = channel } }
    func remove(_ channel: Channel) { lock.withLock { channels[ObjectIdentifier(channel)] = nil } }
    var all: [Channel] { lock.withLock { Array(channels.values) } }
}

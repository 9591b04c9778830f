// libFuzzer target: a byte stream through the frame decoder in input-chosen pieces, each frame through
// RPCRequest.parse, the response the daemon would write for it (its id must come back), and, when it parses, the
// parameter decoding and checks the daemon does before queueing (all three parameter types, whatever the method,
// plus render settings); each frame also as a response, as clients read it.
//
// Input: byte 0's low four bits n, then n piece sizes (byte + 1, used in turn; none: one piece), then the stream.
import ImageIO
import OFAWire

#if canImport(Glibc)
    import Glibc
#endif

private let verbose = getenv("OFA_FUZZ_VERBOSE") != nil
/// OFA-large's shape, to resolve layers and heads against.
private let model = (encoderLayers: 12, decoderLayers: 12, heads: 16)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard let first = input.first else { return 0 }
    let sizeCount = min(Int(first & 0x0F), size - 1)
    let pieceSizes = input[1..<(1 + sizeCount)].map { Int($0) + 1 }
    let stream = input[(1 + sizeCount)...]

    var decoder = FrameDecoder(maximumLength: 1 << 16)
    var position = stream.startIndex
    var piece = 0
    var frames: [[UInt8]] = []
    streaming: while position < stream.endIndex {
        let length = pieceSizes.isEmpty ? stream.count : pieceSizes[piece % pieceSizes.count]
        let end = min(position + length, stream.endIndex)
        decoder.append(stream[position..<end])
        position = end
        piece += 1
        do {
            while true {
                let complete = decoder.hasCompleteFrame
                guard let frame = try decoder.nextFrame() else {
                    precondition(!complete, "hasCompleteFrame said yes, nextFrame gave nothing")
                    break
                }
                precondition(complete, "nextFrame gave a frame hasCompleteFrame did not see")
                frames.append(frame)
            }
        } catch {
            precondition(decoder.hasCompleteFrame, "nextFrame threw on a frame hasCompleteFrame did not see")
            if verbose { print("stream: \(error)") }
            break streaming
        }
    }
    if position == stream.endIndex {
        do { try decoder.finish() } catch { if verbose { print("stream end: \(error)") } }
    }
    for frame in frames {
        var again = FrameDecoder(maximumLength: 1 << 16)
        again.append(FrameCoder.encode(frame))
        precondition((try? again.nextFrame()) == frame && again.bufferedByteCount == 0, "frame does not round-trip")
        request(frame)
        response(frame)
    }
    return 0
}

/// What the daemon does with a frame body before a request is queued.
private func request(_ body: [UInt8]) {
    let request: RPCRequest
    switch RPCRequest.parse(body) {
    case .failure(let rejection):
        if verbose { print("rejected: \(rejection.error)") }
        if rejection.idText != nil {
            echo(RPCResponse(id: rejection.id, idText: rejection.idText, error: rejection.error), of: rejection.id)
        }
        return
    case .success(let parsed): request = parsed
    }
    if request.idText != nil {
        echo(RPCResponse(id: request.id, idText: request.idText, result: .null), of: request.id)
    }
    let params = request.params ?? .object([:])
    _ = params.serialized()
    do {
        let render = try params.decodeParameters(RenderParams.self)
        let settings = try RenderSettings(render)
        let part = settings.source.part
        let layers = part == .encoder ? model.encoderLayers : model.decoderLayers
        let drawn = try settings.resolvedLayers(count: layers, forStats: request.method == Method.stats)
        precondition(drawn.allSatisfy { (0..<layers).contains($0) }, "a resolved layer is out of range")
        _ = try settings.heads.checked(count: model.heads, part: part)
        if let image = render.imageInput { header(image) }
        if verbose { print("\(request.method): render settings \(settings.output), layers \(drawn)") }
    } catch {
        if verbose { print("\(request.method): render params: \(error)") }
    }
    do {
        let predict = try params.decodeParameters(PredictParams.self)
        _ = predict.allHypotheses
        header(predict.image)
        if verbose { print("\(request.method): predict params \(predict.allHypotheses.count) hypotheses") }
    } catch {
        if verbose { print("\(request.method): predict params: \(error)") }
    }
    do {
        let relevance = try params.decodeParameters(RelevanceParams.self)
        if let image = relevance.imageInput { header(image) }
        if verbose { print("\(request.method): relevance params \(relevance.targets ?? [])") }
    } catch {
        if verbose { print("\(request.method): relevance params: \(error)") }
    }
    do {
        let attention = try params.decodeParameters(AttentionParams.self)
        header(attention.image)
        if verbose { print("\(request.method): attention params \(attention.attention.kinds)") }
    } catch {
        if verbose { print("\(request.method): attention params: \(error)") }
    }
}

/// The daemon answers a request with a numeric id under that id's text as the client wrote it, spliced into the
/// answer: the answer must parse, with the same id. (Other ids go through JSONEncoder; checking those costs most of
/// the throughput, as most inputs are rejected frames that are otherwise cheap.)
private func echo(_ response: RPCResponse, of id: JSONValue) {
    let body = response.serialized()
    guard let back = try? RPCResponse.parse(body) else {
        preconditionFailure("the answer does not parse: \(String(decoding: body, as: UTF8.self))")
    }
    precondition(back.id == id, "the answer's id \(back.id) is not the request's \(id)")
}

/// What ofactl and ofa-web do with a reply: the response, then the result types that carry arrays and bytes.
private func response(_ body: [UInt8]) {
    do {
        let result = try RPCResponse.parse(body).get()
        let decoders: [() throws -> Void] = [
            { _ = try result.decode(AttentionResult.self) }, { _ = try result.decode(RenderResult.self) },
            { _ = try result.decode(RelevanceMethodResult.self) },
        ]
        for decode in decoders {
            do {
                try decode()
                if verbose { print("response: decoded") }
            } catch {
                if verbose { print("response: \(error)") }
            }
        }
    } catch {
        if verbose { print("response: \(error)") }
    }
}

/// The daemon sniffs an inline image's size before queueing.
private func header(_ image: ImageInput) {
    if let bytes = image.data?.bytes, let header = ImageHeader(bytes) { _ = header.pixels }
}

// The routes: the page's static assets, and a small JSON API that forwards questions to ofad.
//
//   GET  /                  the page           GET  /api/config     limits and choices the page needs
//   GET  /assets/…          its CSS, JS, icon  GET  /api/status     daemon up/down, state, model, device, layers
//   POST /api/predict       → predict          POST /api/render     → render (heatmap, grid, animation, npy)
//   POST /api/attention     → attention (raw arrays, for drawing the map in the page)
import Foundation
import NIOHTTP1
import OFAWire

public struct WebApplication: Sendable {
    public let configuration: WebConfiguration
    public let gateway: DaemonGateway

    public init(configuration: WebConfiguration, gateway: DaemonGateway) {
        self.configuration = configuration
        self.gateway = gateway
    }

    /// Paths whose requests carry a body; every other path is refused a body.
    static let postPaths: Set<String> = ["/api/predict", "/api/render", "/api/attention"]

    /// Answers one request. Blocking (it may wait on the daemon): call it off the event loop. `cancellation`
    /// withdraws its daemon call when the client goes away.
    public func respond(to request: WebRequest, cancellation: CallCancellation = CallCancellation()) -> WebResponse {
        do {
            return try route(request, cancellation: cancellation)
        } catch let error as WebError {
            return .error(error)
        } catch {
            return .error(.daemonBroken("\(error)"))
        }
    }

    func route(_ request: WebRequest, cancellation: CallCancellation) throws -> WebResponse {
        if let asset = StaticAssets.asset(at: request.path) {
            try require(request, [.GET, .HEAD])
            return asset.response
        }
        switch request.path {
        case "/api/config":
            try require(request, [.GET])
            return .json(config)
        case "/api/status":
            try require(request, [.GET])
            return .json(status())
        case "/api/predict":
            try require(request, [.POST])
            let body = try jsonBody(request, allowed: PageQuery.commonKeys)
            let query = try PageQuery(body, maximumTextLength: configuration.maximumTextLength)
            return .json(try gateway.call(Method.predict, params: .object(query.params), cancellation: cancellation))
        case "/api/render":
            try require(request, [.POST])
            let body = try jsonBody(request, allowed: PageQuery.commonKeys.union(RenderOptionsQuery.keys))
            let query = try PageQuery(body, maximumTextLength: configuration.maximumTextLength)
            let params = try RenderOptionsQuery.params(body, query: query)
            return .json(try gateway.call(Method.render, params: .object(params), cancellation: cancellation))
        case "/api/attention":
            try require(request, [.POST])
            let body = try jsonBody(request, allowed: PageQuery.commonKeys.union(["attention"]))
            let query = try PageQuery(body, maximumTextLength: configuration.maximumTextLength)
            var params = query.params
            if let selection = try AttentionSelectionQuery.params(body) { params["attention"] = selection }
            return .json(try gateway.call(Method.attention, params: .object(params), cancellation: cancellation))
        default:
            throw WebError.notFound(path: request.path)
        }
    }

    private func require(_ request: WebRequest, _ methods: [HTTPMethod]) throws {
        guard methods.contains(request.method) else { throw WebError.methodNotAllowed(allowed: methods) }
    }

    private func jsonBody(_ request: WebRequest, allowed: Set<String>) throws -> [String: JSONValue] {
        let type = request.headers.first(name: "Content-Type")
        guard let type, type.lowercased().hasPrefix("application/json") else {
            throw WebError.unsupportedMediaType(type)
        }
        return try PageQuery.object(request.body, allowed: allowed)
    }

    /// What the page needs to know before it asks anything.
    var config: JSONValue {
        [
            "max_upload_bytes": .integer(Int64(configuration.maximumBodyBytes)),
            "max_text_length": .integer(Int64(configuration.maximumTextLength)),
            "outputs": .array(MapOutput.allCases.map { .string($0.rawValue) }),
            "sources": .array(MapSource.allCases.map { .string($0.rawValue) }),
            "colormaps": .array(ColormapName.allCases.map { .string($0.rawValue) }),
            "parameters": .array(
                ExplanationParameter.all.map { parameter in
                    [
                        "key": .string(parameter.key), "default": .string(parameter.defaultText),
                        "help": .string(parameter.help),
                    ]
                }),
        ]
    }

    /// Health and status in one answer; a daemon that does not answer is reported, not an HTTP error.
    func status() -> JSONValue {
        let health: HealthResult
        do {
            health = try gateway.call(Method.health, params: nil).decode(HealthResult.self)
        } catch let error as WebError {
            return ["daemon": "down", "state": "down", "message": .string(error.message)]
        } catch {
            return ["daemon": "down", "state": "down", "message": .string("The daemon's answer was not understood.")]
        }
        var members: [String: JSONValue] = ["daemon": "up", "state": .string(health.state.rawValue)]
        if let detail = health.detail { members["detail"] = .string(detail) }
        if let status = try? gateway.call(Method.status, params: nil).decode(StatusResult.self) {
            // The model directory's name only: no server path leaves this process.
            members["version"] = .string(status.version)
            members["model"] = .string(URL(fileURLWithPath: status.modelDirectory).lastPathComponent)
            members["architecture"] = .string(status.architecture)
            members["device"] = .string(status.device)
            members["queue_depth"] = .integer(Int64(status.queueDepth))
            if let shape = status.model {
                members["layers"] = [
                    "encoder": .integer(Int64(shape.encoderLayers)), "decoder": .integer(Int64(shape.decoderLayers)),
                ]
                members["heads"] = [
                    "encoder": .integer(Int64(shape.encoderHeads)), "decoder": .integer(Int64(shape.decoderHeads)),
                ]
                members["shape"] = (try? JSONValue(encoding: shape)) ?? .null
            }
        }
        return .object(members)
    }
}

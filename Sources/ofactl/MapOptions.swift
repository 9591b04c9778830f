// What heatmap, grid, animate and stats share: the image and texts, which maps to draw, how to draw them, and
// writing the daemon's output file. Values are checked by the daemon, which names the parameter it rejects.
import ArgumentParser
import Foundation
import OFAWire

struct MapInput: ParsableArguments {
    @Argument(help: "Image file (JPEG or PNG).") var image: String
    @Argument(help: "Hypothesis.") var text: String
    @Option(help: "Optional premise text.") var premise: String?
    @Flag(help: "Send IMAGE as a path for the daemon to read (it must lie under one of its --image-root).")
    var serverPath = false

    func params() -> RenderParams {
        RenderParams(
            image: serverPath ? ImageInput(path: image) : ImageInput(bytes: readImage(image)), hypothesis: text,
            premise: premise)
    }

    /// `<image-stem>-<suffix>` next to the current directory, e.g. dogs-heatmap.png.
    func defaultOutput(_ suffix: String) -> String {
        URL(fileURLWithPath: image).deletingPathExtension().lastPathComponent + "-" + suffix
    }
}

struct MapSelection: ParsableArguments {
    @Option(help: "cross (decoder cross-attention from the answer), encoder (text→image) or rollout. [cross]")
    var source: String?
    @Option(
        parsing: .unconditional,
        help: "Layers: comma-separated indices (negative counts from the end) or all. [see each command]")
    var layers: String?
    @Option(help: "Heads: mean, max, min or a head index. [mean]") var heads: String?
    @Option(help: "encoder: the source token (0 = bos) whose attention is drawn. [the hypothesis's tokens]")
    var token: Int?
    @Option(help: "rollout: how heads are fused per encoder layer (mean, max, min). [mean]") var fusion: String?
    @Option(help: "rollout: share of the smallest weights dropped per layer, in [0, 1). [0]") var discardRatio: Double?
    @Option(help: "Gaussian smoothing, sigma in patches. [0]") var smoothing: Double?
    @Option(help: "Temperature; below 1 sharpens. [1]") var temperature: Double?

    func validate() throws {
        if let layers, layers != "all", Self.layerList(layers) == nil {
            throw ValidationError("--layers takes comma-separated integers or all, not \(layers)")
        }
    }

    static func layerList(_ text: String) -> [Int]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        return parts.contains(nil) ? nil : parts.compactMap { $0 }
    }

    func apply(to params: inout RenderParams) {
        params.source = source
        if let layers { params.layers = layers == "all" ? .all : .list(Self.layerList(layers) ?? []) }
        if let heads { params.heads = Int(heads).map(HeadChoice.index) ?? .fusion(heads) }
        params.token = token
        params.fusion = fusion
        params.discardRatio = discardRatio
        params.smoothing = smoothing
        params.temperature = temperature
    }
}

struct DrawingOptions: ParsableArguments {
    @Option(help: "jet, viridis, inferno or gray. [jet]") var colormap: String?
    @Option(help: "Heatmap opacity in [0, 1]. [0.5]") var alpha: Double?
    @Flag(help: "Add a colorbar.") var colorbar = false
    @Option(help: "Longest side in pixels of the image, each grid cell or each frame (at most 4096).")
    var maxSide: Int?
    @Flag(help: "One colour scale for every layer (grid, animate).") var sharedScale = false

    func apply(to params: inout RenderParams) {
        params.colormap = colormap
        params.alpha = alpha
        params.colorbar = colorbar ? true : nil
        params.maxSide = maxSide
        params.sharedScale = sharedScale ? true : nil
    }
}

/// Asks for `render`, writes the file and prints a summary (or the result, without the bytes, with --json).
func renderAndWrite(_ params: RenderParams, to path: String, connection: ConnectionOptions) throws {
    let value = connection.call(Method.render, params: try JSONValue(encoding: params))
    let result = decodeResult(value, as: RenderResult.self)
    do {
        try Data(result.data.bytes).write(to: URL(fileURLWithPath: path))
    } catch {
        fail("ofactl: cannot write \(path): \(error)", ExitStatus.localFile)
    }
    if connection.json {
        guard case .object(var members) = value else { return printJSON(value) }
        members["data"] = nil
        members["file"] = .string(path)
        return printJSON(.object(members))
    }
    print(formatPrediction(result.prediction))
    let frames = result.frames.map { result.format == "gif" ? ", \($0) frames" : ", \($0) layers" } ?? ""
    print("\(result.format) \(result.width)×\(result.height)\(frames), layers \(result.layers) → \(path)")
    print("method: \(result.method.text)")
}

// What heatmap, grid, animate and stats share: the image and texts, which maps to draw, how to draw them, and
// writing the daemon's output file. Values are checked here and by the daemon with the same contract (OFAWire's
// ExplanationParameter and RenderSettings).
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

/// Help text of an option from the explanation contract's table (ranges and defaults written once in OFAWire).
func help(_ parameter: ExplanationParameter) -> ArgumentHelp { ArgumentHelp(parameter.help) }

struct MapSelection: ParsableArguments {
    @Option(help: help(.source)) var source: String?
    @Option(parsing: .unconditional, help: help(.layers)) var layers: String?
    @Option(help: help(.heads)) var heads: String?
    @Option(help: help(.token)) var token: Int?
    @Option(help: help(.fusion)) var fusion: String?
    @Option(help: help(.discardRatio)) var discardRatio: Double?
    @Option(help: help(.smoothing)) var smoothing: Double?
    @Option(help: help(.temperature)) var temperature: Double?
    @Option(help: help(.target)) var target: String?
    @Option(help: help(.window)) var window: Int?
    @Option(help: help(.stride)) var stride: Int?
    @Option(help: help(.measure)) var measure: String?

    func validate() throws {
        if let layers, LayerChoice(text: layers) == nil {
            throw ValidationError("--layers takes comma-separated integers or all, not \(layers)")
        }
        if let heads, HeadChoice(text: heads) == nil {
            throw ValidationError("--heads takes mean, max, min or a head index, not \(heads)")
        }
        var params = RenderParams(image: ImageInput(bytes: []), hypothesis: "")
        apply(to: &params)
        try checked(params)
    }

    func apply(to params: inout RenderParams) {
        params.source = source
        params.layers = layers.flatMap(LayerChoice.init(text:))
        params.heads = heads.flatMap(HeadChoice.init(text:))
        params.token = token
        params.fusion = fusion
        params.discardRatio = discardRatio
        params.smoothing = smoothing
        params.temperature = temperature
        params.target = target
        params.window = window
        params.stride = stride
        params.measure = measure
    }
}

struct DrawingOptions: ParsableArguments {
    @Option(help: help(.colormap)) var colormap: String?
    @Option(help: help(.alpha)) var alpha: Double?
    @Flag(help: help(.colorbar)) var colorbar = false
    @Option(help: help(.maxSide)) var maxSide: Int?
    @Flag(help: help(.sharedScale)) var sharedScale = false

    func validate() throws {
        var params = RenderParams(image: ImageInput(bytes: []), hypothesis: "")
        apply(to: &params)
        try checked(params)
    }

    func apply(to params: inout RenderParams) {
        params.colormap = colormap
        params.alpha = alpha
        params.colorbar = colorbar ? true : nil
        params.maxSide = maxSide
        params.sharedScale = sharedScale ? true : nil
    }
}

/// The contract's own checks before anything is sent, reported with the option's command-line name.
func checked(_ params: RenderParams) throws {
    do {
        _ = try RenderSettings(params)
    } catch let error as ParameterError {
        let option = ExplanationParameter.named(error.key)?.optionName ?? error.key
        throw ValidationError("--\(option) \(error.message)")
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

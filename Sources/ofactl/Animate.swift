// ofactl animate IMAGE TEXT [-o out.gif]: one frame per layer, as an animated GIF.
import ArgumentParser
import OFAWire

struct Animate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Animate the attention through the layers (GIF). [every layer]")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var input: MapInput
    @OptionGroup var selection: MapSelection
    @OptionGroup var drawing: DrawingOptions
    @Option(help: help(.frameDelayMs)) var frameDelay: Int?
    @Option(help: help(.loop)) var loop: Int?
    @Option(name: .shortAndLong, help: "Output GIF. [IMAGE-STEM-layers.gif]") var output: String?

    func run() throws {
        var params = input.params()
        params.output = "animation"
        selection.apply(to: &params)
        drawing.apply(to: &params)
        params.frameDelayMs = frameDelay
        params.loop = loop
        try checked(params)
        try renderAndWrite(params, to: output ?? input.defaultOutput("layers.gif"), connection: connection)
    }
}

// ofactl heatmap IMAGE TEXT [-o out.png]: where the model looked, drawn over the image.
import ArgumentParser
import OFAWire

struct Heatmap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw one attention map over the image (PNG), or write the raw map (-o FILE.npy).",
        discussion: """
            By default the decoder's cross-attention from the answer position, last layer, mean over heads. \
            Several --layers are drawn as their mean (grid and animate draw them one by one). With -o ending in \
            .npy the maps are written as float32 [layers, rows, cols].
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var input: MapInput
    @OptionGroup var selection: MapSelection
    @OptionGroup var drawing: DrawingOptions
    @Option(name: .shortAndLong, help: "Output file (.png, or .npy for the raw maps). [IMAGE-STEM-heatmap.png]")
    var output: String?

    func run() throws {
        let path = output ?? input.defaultOutput("heatmap.png")
        var params = input.params()
        params.output = path.hasSuffix(".npy") ? "npy" : "overlay"
        selection.apply(to: &params)
        drawing.apply(to: &params)
        if params.output == "npy" && params.layers == nil { params.layers = .list([-1]) }
        try renderAndWrite(params, to: path, connection: connection)
    }
}

// ofactl grid IMAGE TEXT [-o out.png]: one cell per layer, in one PNG.
import ArgumentParser
import OFAWire

struct Grid: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw the attention of several layers side by side (PNG). [every layer]")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var input: MapInput
    @OptionGroup var selection: MapSelection
    @OptionGroup var drawing: DrawingOptions
    @Option(help: help(.columns)) var columns: Int?
    @Option(name: .shortAndLong, help: "Output PNG. [IMAGE-STEM-grid.png]") var output: String?

    func run() throws {
        var params = input.params()
        params.output = "grid"
        selection.apply(to: &params)
        drawing.apply(to: &params)
        params.columns = columns
        try checked(params)
        try renderAndWrite(params, to: output ?? input.defaultOutput("grid.png"), connection: connection)
    }
}

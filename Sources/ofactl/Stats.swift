// ofactl stats IMAGE TEXT: how concentrated the attention is, per layer, as a table (or --json).
import ArgumentParser
import Foundation
import OFAWire

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Statistics of the attention maps per layer: spread, entropy, focus, centre, top patches.",
        discussion: "Positions are in the original image's pixels. [every layer]")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var input: MapInput
    @OptionGroup var selection: MapSelection
    @Option(help: help(.focusThreshold)) var focusThreshold: Double?
    @Option(help: help(.topK)) var topK: Int?
    @Option(help: help(.faithfulness)) var faithfulness: String?

    func run() throws {
        var params = input.params()
        selection.apply(to: &params)
        params.focusThreshold = focusThreshold
        params.topK = topK
        params.faithfulness = faithfulness
        try checked(params)
        let value = connection.call(Method.stats, params: try JSONValue(encoding: params))
        if connection.json { return printJSON(value) }
        let result = decodeResult(value, as: StatsResult.self)
        print(formatPrediction(result.prediction))
        print("method: \(result.method.text)")
        print(
            "image \(result.imageWidth)×\(result.imageHeight), patch grid \(result.patchGrid.rows)×\(result.patchGrid.cols)"
        )
        print(Self.table(result.statistics))
        if let tokens = result.tokens { print(Relevance.tokenLine(tokens)) }
        if let report = result.faithfulness { print(Faithfulness.table(report)) }
    }

    static func table(_ statistics: [LayerStatistics]) -> String {
        let header = [
            "layer", "mean", "max", "min", "std", "entropy", "focus", "centre x,y", "top patch (row,col) value",
        ]
        let rows = statistics.map { s -> [String] in
            let top = s.topK.first.map { "(\($0.row),\($0.col)) \(String(format: "%.4f", $0.value))" } ?? "-"
            return [
                String(s.layer), f(s.mean), f(s.max), f(s.min), f(s.std), String(format: "%.3f", s.entropy),
                String(format: "%.1f%%", s.focusArea * 100),
                String(format: "%.0f,%.0f", s.centerOfMass[0], s.centerOfMass[1]), top,
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    private static func f(_ value: Double) -> String { String(format: "%.4f", value) }
}

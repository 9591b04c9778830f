// ofactl faithfulness IMAGE TEXT: how far to trust a map — the answer's probability as the patches the map ranks
// highest (positive) or lowest (negative) are removed.
import ArgumentParser
import Foundation
import OFAWire

struct Faithfulness: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Perturbation test of a map: probability curves as patches are removed, and their areas.",
        discussion: """
            Positive: most relevant patches first; a faithful map makes the probability fall fast (small area). \
            Negative: least relevant first; it should hold (large area). [--source relevance, --steps full]
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var input: MapInput
    @OptionGroup var selection: MapSelection
    @Option(help: "fast (4 steps) or full (9 steps).") var steps = "full"

    func run() throws {
        var params = input.params()
        selection.apply(to: &params)
        if params.source == nil { params.source = MapSource.relevance.rawValue }
        params.faithfulness = steps
        try checked(params)
        let value = connection.call(Method.stats, params: try JSONValue(encoding: params))
        if connection.json { return printJSON(value) }
        let result = decodeResult(value, as: StatsResult.self)
        print(formatPrediction(result.prediction))
        print("map: \(result.method.text)")
        guard let report = result.faithfulness else { fail("ofactl: the daemon sent no faithfulness report", 1) }
        print(Self.table(report))
    }

    static func table(_ report: FaithfulnessReport) -> String {
        var lines = ["faithfulness of p(\(report.target)) (answer \(report.answer)):", "removed  positive  negative"]
        for (index, fraction) in report.positive.fractions.enumerated() {
            func cell(_ curve: FaithfulnessCurveInfo) -> String {
                String(format: "%.4f", curve.probabilities[index]) + (curve.answerChanged[index] ? "*" : " ")
            }
            lines.append(
                String(format: "%6.0f%%", fraction * 100) + "   " + cell(report.positive) + "   "
                    + cell(report.negative))
        }
        lines.append(
            "area     " + String(format: "%.4f", report.positive.area) + "    "
                + String(format: "%.4f", report.negative.area) + "   (* answer changed)")
        return lines.joined(separator: "\n")
    }
}

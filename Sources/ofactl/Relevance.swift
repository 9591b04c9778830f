// ofactl relevance IMAGE TEXT: which patches and which words made the answer, per target (Chefer et al. 2021).
import ArgumentParser
import Foundation
import OFAWire

struct Relevance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer relevance of the image patches and the text tokens, per target.",
        discussion: """
            A target is an answer (yes, no, maybe), a contrast of two (yes-no: what makes it yes rather than no) or \
            predicted. Prints the top patches and the tokens by relevance; --json gives every value.
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var input: MapInput
    @Option(name: .customLong("target"), help: "Targets, repeatable. [predicted]") var targets: [String] = []
    @Option(help: "Top patches listed per target.") var top = 5

    func run() throws {
        let render = input.params()
        var params = RelevanceParams(
            image: render.image!, hypothesis: render.hypothesis, premise: render.premise,
            targets: targets.isEmpty ? nil : targets)
        params.path = nil
        let value = connection.call(Method.relevance, params: try JSONValue(encoding: params))
        if connection.json { return printJSON(value) }
        let result = decodeResult(value, as: RelevanceMethodResult.self)
        print(formatPrediction(result.prediction))
        for target in result.targets {
            let columns = target.patchGrid.cols
            let best = target.image.indices.sorted { target.image[$0] > target.image[$1] }.prefix(max(0, top))
            let patches = best.map { "(\($0 / columns),\($0 % columns)) \(String(format: "%.4f", target.image[$0]))" }
            print("target \(target.target) (value \(String(format: "%.4f", target.value))):")
            print("  top patches (row,col): " + patches.joined(separator: "  "))
            print("  " + Self.tokenLine(target.sourceTokens))
        }
    }

    /// The hypothesis's tokens with their relevance, most relevant first.
    static func tokenLine(_ tokens: [TokenRelevance]) -> String {
        let own = tokens.filter(\.hypothesis)
        let listed = (own.isEmpty ? tokens : own).sorted { $0.relevance > $1.relevance }
        return "tokens: "
            + listed.map { "\($0.text.trimmingCharacters(in: .whitespaces)) \(String(format: "%.4f", $0.relevance))" }
            .joined(separator: "  ")
    }
}

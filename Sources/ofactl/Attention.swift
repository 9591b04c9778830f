// ofactl attention IMAGE TEXT [selection] -o FILE.npy
import ArgumentParser
import Foundation
import OFAWire

struct Attention: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record where the model looked; writes the maps as .npy files.",
        discussion: """
            Each map is float32 with shape [heads (1 with --head-mean), queries, keys]. With one map, it is \
            written to FILE; with several, FILE's name gets -KIND-LAYER before .npy for each.
            """)

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Image file.") var image: String
    @Argument(help: "Hypothesis.") var text: String
    @Option(help: "Optional premise text.") var premise: String?
    @Option(name: .customLong("kind"), help: "encoder, decoder_self or cross; repeatable. [cross]")
    var kinds: [String] = []
    @Option(name: .customLong("layer"), help: "Layer index; repeatable. [the last layer]") var layers: [Int] = []
    @Option(name: .customLong("head"), help: "Head index; repeatable. [all heads]") var heads: [Int] = []
    @Flag(help: "Average over the heads.") var headMean = false
    @Option(
        parsing: .unconditional,
        help: "Keep one query position only; negative counts from the end (-1: the answer-predicting row).")
    var query: Int?
    @Option(name: .shortAndLong, help: "Output .npy file.") var output: String

    func validate() throws {
        for kind in kinds where AttentionKind(rawValue: kind) == nil {
            throw ValidationError("unknown attention kind \(kind) (encoder, decoder_self, cross)")
        }
    }

    func run() throws {
        let selection = AttentionSelection(
            kinds: kinds.isEmpty ? [.cross] : kinds.compactMap(AttentionKind.init(rawValue:)),
            layers: layers.isEmpty ? nil : layers, heads: heads.isEmpty ? nil : heads, headMean: headMean,
            queryPosition: query)
        let params = AttentionParams(
            image: ImageInput(bytes: readImage(image)), hypothesis: text, premise: premise,
            attention: selection)
        let value = connection.call(Method.attention, params: try JSONValue(encoding: params))
        let result = decodeResult(value, as: AttentionResult.self)
        var written: [String] = []
        for map in result.maps {
            let path = result.maps.count == 1 ? output : Self.path(output, map)
            do {
                try Data(NPYFile.encode(NPYArray(map.values))).write(to: URL(fileURLWithPath: path))
            } catch {
                fail("ofactl: cannot write \(path): \(error)", ExitStatus.localFile)
            }
            written.append(path)
        }
        if connection.json { return printJSON(value) }
        print(formatPrediction(result.prediction))
        for (map, path) in zip(result.maps, written) {
            let grid = map.patchGrid.map { " patch grid \($0.rows)×\($0.cols)" } ?? ""
            print("\(map.kind.rawValue) layer \(map.layer) shape \(map.values.shape)\(grid) → \(path)")
        }
    }

    static func path(_ output: String, _ map: AttentionMap) -> String {
        let stem = output.hasSuffix(".npy") ? String(output.dropLast(4)) : output
        return "\(stem)-\(map.kind.rawValue)-\(map.layer).npy"
    }
}

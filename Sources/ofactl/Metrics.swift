// ofactl metrics
import ArgumentParser
import OFAWire

struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The daemon's metrics in Prometheus text format.")

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let value = connection.call(Method.metrics)
        if connection.json { return printJSON(value) }
        print(decodeResult(value, as: MetricsResult.self).text, terminator: "")
    }
}

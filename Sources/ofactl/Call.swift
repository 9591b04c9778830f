// ofactl call METHOD [JSON]
import ArgumentParser
import OFAWire

struct Call: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send one raw request; prints the result as JSON (errors go to stderr, exit 1).")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Method name.") var method: String
    @Argument(help: "Params as a JSON object.") var params: String?

    func run() throws {
        var parsed: JSONValue?
        if let params {
            do {
                parsed = try JSONValue(parsing: Array(params.utf8))
            } catch {
                throw ValidationError("params are not valid JSON")
            }
        }
        printJSON(connection.call(method, params: parsed))
    }
}

// ofactl predict IMAGE TEXT... [--premise P]
import ArgumentParser
import OFAWire

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Does the image entail each sentence? Prints answer, label and the three probabilities.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Image file (JPEG or PNG).") var image: String
    @Argument(help: "One or more hypotheses.") var text: [String]
    @Option(help: "Optional premise text.") var premise: String?
    @Flag(help: "Send IMAGE as a path for the daemon to read (it must lie under one of its --image-root).")
    var serverPath = false

    func validate() throws {
        if text.isEmpty { throw ValidationError("give at least one hypothesis") }
    }

    func run() throws {
        let input = serverPath ? ImageInput(path: image) : ImageInput(bytes: readImage(image))
        let params = PredictParams(image: input, hypotheses: text, premise: premise)
        let value = connection.call(Method.predict, params: try JSONValue(encoding: params))
        if connection.json { return printJSON(value) }
        let result = decodeResult(value, as: PredictResult.self)
        for prediction in result.predictions { print(formatPrediction(prediction)) }
    }
}

// What every subcommand shares: the socket option, --json, connecting, and turning failures into exit codes.
import ArgumentParser
import Foundation
import OFAWire

enum ExitStatus {
    static let daemonError: Int32 = 1
    static let connection: Int32 = 2
    static let notReady: Int32 = 3
    static let localFile: Int32 = 4
}

struct ConnectionOptions: ParsableArguments {
    static let defaultSocket = "/run/ofad/ofad.sock"

    @Option(help: "The daemon's socket. [$OFAD_SOCKET; /run/ofad/ofad.sock]")
    var socket: String?

    @Flag(help: "Print the daemon's JSON result instead of a summary.")
    var json = false

    var socketPath: String {
        socket ?? ProcessInfo.processInfo.environment["OFAD_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
            ?? Self.defaultSocket
    }

    func connect() -> WireClient {
        do {
            return try WireClient(socketPath: socketPath)
        } catch {
            fail("ofactl: \(error)", ExitStatus.connection)
        }
    }

    /// Calls `method` and returns its result; exits with the documented status on failure.
    func call(_ method: String, params: JSONValue? = nil) -> JSONValue {
        let client = connect()
        do {
            return try client.call(method, params: params)
        } catch let error as RPCError {
            fail("ofactl: \(method): \(error.message) (\(error.code))", ExitStatus.daemonError)
        } catch {
            fail("ofactl: \(method): \(error)", ExitStatus.connection)
        }
    }
}

func fail(_ message: String, _ status: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(status)
}

func readImage(_ path: String) -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        fail("ofactl: cannot read image \(path)", ExitStatus.localFile)
    }
    return Array(data)
}

func printJSON(_ value: JSONValue) {
    print(value.text)
}

func decodeResult<T: Decodable>(_ value: JSONValue, as type: T.Type) -> T {
    do {
        return try value.decode(T.self)
    } catch {
        fail("ofactl: unexpected answer from the daemon: \(error)", ExitStatus.connection)
    }
}

func formatPrediction(_ prediction: Prediction) -> String {
    let probabilities = ["yes", "no", "maybe"].map { answer in
        "\(answer) \(String(format: "%.3f", prediction.probabilities[answer] ?? 0))"
    }
    let verdict = "\(prediction.answer) (\(prediction.label))".padding(toLength: 22, withPad: " ", startingAt: 0)
    // bf16: the top two answers were close, so they were scored again on float32-input image features.
    let closeCall = prediction.closeCall == true ? "[close call] " : ""
    return "\(verdict) \(probabilities.joined(separator: "  "))  \(closeCall)\(prediction.hypothesis)"
}

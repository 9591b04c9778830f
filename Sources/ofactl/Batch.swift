// ofactl batch: JSON lines of requests on stdin → one JSON line of response per input line on stdout, in input
// order, pipelined over one connection; a line answered "busy" is sent again after a growing wait.
import ArgumentParser
import Foundation
import OFAWire

struct Batch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pipeline JSON-lines requests from stdin; print one response line per input line, in order.",
        discussion: """
            Each input line is {"method": M, "params": {...}} with an optional "id" (the line number when \
            absent, counting from 1). In params, "image": {"file": PATH} is read here and sent as bytes. Each output \
            line is the JSON-RPC response with the input's id; a line that cannot be sent (bad JSON, unreadable \
            file, blank) gets an error response too, with "data": {"line": N}. A line answered "server busy" \
            (-32002) is sent again up to --retries times, after --retry-delay seconds, doubling each time (at most \
            10 s); a line still busy after that keeps the busy error, with "data": {"line": N, "attempts": K}, and \
            is named on stderr with a count at the end. Exit 1 when any line got an error (or was given up), 2 when \
            the connection broke (the unanswered lines are answered with an error).
            """)

    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Requests sent but not yet answered, at most.") var window = 64
    @Option(help: "Times a line answered \"server busy\" is sent again before it is given up.") var retries = 3
    @Option(
        name: .customLong("retry-delay"),
        help: "Seconds before the first retry of a busy line; each next retry waits twice as long, at most 10 s.")
    var retryDelay = 0.5
    @Flag(inversion: .prefixedNo, help: "Progress on stderr when it is a terminal.") var progress = true

    func validate() throws {
        guard window >= 1 else { throw ValidationError("--window must be at least 1") }
        guard retries >= 0 else { throw ValidationError("--retries must be 0 or more") }
        guard retryDelay >= 0, retryDelay.isFinite else {
            throw ValidationError("--retry-delay must be a number of seconds, 0 or more")
        }
    }

    func run() throws {
        let client = connection.connect()
        let output = OrderedOutput(showProgress: progress && isatty(STDERR_FILENO) == 1)
        let slots = DispatchSemaphore(value: max(1, window))
        let backoff = Backoff(retries: retries, firstDelay: retryDelay)
        let book = RetryBook()
        // The reader's retries and this thread both send: one frame at a time.
        let sending = NSLock()
        @Sendable func send(_ request: RPCRequest) {
            do {
                try sending.withLock { try client.send(request) }
            } catch {
                output.connectionLost("\(error)")
            }
        }

        let reader = Thread {
            while true {
                let response: RPCResponse
                do {
                    response = try client.receive()
                } catch {
                    output.connectionLost("\(error)")
                    slots.signal()
                    return
                }
                guard case .integer(let number) = response.id else { continue }
                let line = Int(number)
                var answer = response
                if let error = response.error, error.code == RPCErrorCode.serverBusy, let retry = book.retry(line: line)
                {
                    if let delay = backoff.delay(beforeRetry: retry.number) {
                        DispatchQueue.global().asyncAfter(deadline: .now() + delay) {
                            if !output.isBroken { send(retry.request) }
                        }
                        continue
                    }
                    answer = Self.givenUp(response, line: line, attempts: retry.number)
                    book.giveUp(line: line)
                    FileHandle.standardError.write(
                        Data("ofactl: line \(line): gave up after \(retry.number) attempts: \(error.message)\n".utf8))
                }
                book.forget(line: line)
                output.answer(line: line, response: answer)
                slots.signal()
            }
        }
        reader.start()

        var lineNumber = 0
        while let text = readLine(strippingNewline: true) {
            lineNumber += 1
            switch Self.prepare(text, line: lineNumber) {
            case .failure(let rejection):
                output.expect(line: lineNumber, id: rejection.id)
                output.answer(
                    line: lineNumber,
                    response: RPCResponse(
                        id: .integer(Int64(lineNumber)),
                        error: rejection.error))
            case .success(let (request, originalID)):
                output.expect(line: lineNumber, id: originalID)
                if output.isBroken { continue }
                slots.wait()
                if output.isBroken { continue }
                book.remember(line: lineNumber, request: request)
                send(request)
            }
        }
        output.finishInput(lines: lineNumber)
        // Retries may still be sent until the last line is answered; only then is the sending side closed.
        let (failures, broken) = output.waitUntilDone()
        client.socket.finishWriting()
        let givenUp = book.givenUp
        if !givenUp.isEmpty {
            let lines = givenUp.prefix(20).map(String.init).joined(separator: ", ") + (givenUp.count > 20 ? ", …" : "")
            FileHandle.standardError.write(
                Data(
                    ("ofactl: gave up on \(givenUp.count) of \(lineNumber) lines, still busy after \(retries) "
                        + "retries: lines \(lines)\n").utf8))
        }
        if broken { throw ExitCode(ExitStatus.connection) }
        if failures > 0 { throw ExitCode(ExitStatus.daemonError) }
    }

    /// The daemon's busy answer for a line given up on, saying so and how often it was sent.
    static func givenUp(_ response: RPCResponse, line: Int, attempts: Int) -> RPCResponse {
        guard let error = response.error else { return response }
        return RPCResponse(
            id: response.id,
            error: RPCError(
                code: error.code, message: "\(error.message) (gave up after \(attempts) attempts)",
                data: ["line": .integer(Int64(line)), "attempts": .integer(Int64(attempts))]))
    }

    /// The request to send for one input line (its id replaced by the line number), and the id to answer under.
    static func prepare(_ text: String, line: Int) -> Result<(RPCRequest, JSONValue), RequestRejection> {
        let lineID = JSONValue.integer(Int64(line))
        func reject(_ code: Int, _ message: String, id: JSONValue = lineID) -> Result<
            (RPCRequest, JSONValue), RequestRejection
        > {
            .failure(RequestRejection(id: id, error: RPCError(code: code, message: message, data: ["line": lineID])))
        }
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            return reject(RPCErrorCode.invalidRequest, "blank line")
        }
        guard case .object(var members)? = try? JSONValue(parsing: Array(text.utf8)) else {
            return reject(RPCErrorCode.parseError, "line is not a JSON object")
        }
        let id = members["id"] ?? lineID
        guard case .string(let method)? = members["method"] else {
            return reject(RPCErrorCode.invalidRequest, "\"method\" must be a string", id: id)
        }
        if case .object(var params)? = members["params"], case .object(let image)? = params["image"],
            case .string(let file)? = image["file"]
        {
            guard let data = FileManager.default.contents(atPath: file) else {
                return reject(RPCErrorCode.imageNotReadable, "cannot read image \(file)", id: id)
            }
            params["image"] = ["data": .string(data.base64EncodedString())]
            members["params"] = .object(params)
        }
        return .success((RPCRequest(id: lineID, method: method, params: members["params"]), id))
    }
}

/// Collects responses as they arrive and prints them in input order.
final class OrderedOutput: @unchecked Sendable {
    private let condition = NSCondition()
    private var ids: [Int: JSONValue] = [:]
    private var ready: [Int: RPCResponse] = [:]
    private var nextToPrint = 1
    private var totalLines: Int?
    private var failures = 0
    private(set) var brokenReason: String?
    private let showProgress: Bool
    private var lastProgress = Date.distantPast

    init(showProgress: Bool) { self.showProgress = showProgress }

    var isBroken: Bool { condition.withLock { brokenReason != nil } }

    func expect(line: Int, id: JSONValue) { condition.withLock { ids[line] = id } }

    func answer(line: Int, response: RPCResponse) {
        condition.withLock {
            guard let id = ids[line], ready[line] == nil, line >= nextToPrint else { return }
            var restored = response
            restored.id = id
            ready[line] = restored
            flush()
        }
    }

    func finishInput(lines: Int) {
        condition.withLock {
            totalLines = lines
            if let brokenReason { answerRemaining(brokenReason) }
            flush()
        }
    }

    func connectionLost(_ reason: String) {
        condition.withLock {
            // After the last answer, the daemon closing the connection is the normal end.
            let allAnswered = totalLines != nil && nextToPrint > totalLines!
            guard brokenReason == nil, !allAnswered else { return }
            brokenReason = reason
            answerRemaining(reason)
            flush()
        }
    }

    /// Blocks until every line is printed; returns the number of error lines and whether the connection broke.
    func waitUntilDone() -> (failures: Int, broken: Bool) {
        condition.withLock {
            while totalLines == nil || nextToPrint <= totalLines! { condition.wait() }
            if showProgress { FileHandle.standardError.write(Data("\r\u{1b}[K".utf8)) }
            return (failures, brokenReason != nil)
        }
    }

    /// Every expected line still unanswered gets a "connection lost" error. Caller holds the lock.
    private func answerRemaining(_ reason: String) {
        for (line, id) in ids where ready[line] == nil && line >= nextToPrint {
            ready[line] = RPCResponse(
                id: id,
                error: RPCError(
                    code: RPCErrorCode.internalError, message: "connection to the daemon lost: \(reason)",
                    data: ["line": .integer(Int64(line))]))
        }
    }

    /// Prints the contiguous run of answered lines. Caller holds the lock.
    private func flush() {
        var printed = false
        while let response = ready.removeValue(forKey: nextToPrint) {
            if response.error != nil { failures += 1 }
            ids[nextToPrint] = nil
            FileHandle.standardOutput.write(Data(response.serialized() + [UInt8(ascii: "\n")]))
            nextToPrint += 1
            printed = true
        }
        if printed {
            condition.broadcast()
            if showProgress && Date().timeIntervalSince(lastProgress) > 0.2 {
                lastProgress = Date()
                let total = totalLines.map { "/\($0)" } ?? ""
                FileHandle.standardError.write(Data("\r\(nextToPrint - 1)\(total) answered".utf8))
            }
        }
        if totalLines != nil && nextToPrint > totalLines! { condition.broadcast() }
    }
}

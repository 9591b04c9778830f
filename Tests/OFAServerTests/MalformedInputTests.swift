// Framing and request errors: each is answered (or the connection closed) and the daemon stays healthy.
import Foundation
import OFAServer
import OFAWire
import XCTest

final class MalformedInputTests: XCTestCase {
    var server: TestDaemon!

    override func setUpWithError() throws {
        server = try TestDaemon {
            $0.maximumFrameLength = 4096
            $0.maximumImagePixels = 10_000
            $0.maximumTextLength = 1024
        }
    }

    override func tearDownWithError() throws {
        XCTAssertEqual(try server.health().state, .ready, "daemon unhealthy after malformed input")
        server = nil
    }

    private func answer(toBody body: [UInt8]) throws -> RPCResponse {
        let client = try server.client()
        try client.sendFrame(body)
        return try client.receive()
    }

    private func answer(to text: String) throws -> RPCResponse { try answer(toBody: Array(text.utf8)) }

    func testAFrameLongerThanTheLimitIsRejectedBeforeItsBodyIsReadAndTheConnectionClosed() throws {
        let client = try server.client()
        // Only the header is sent: the answer cannot depend on reading the body.
        try client.sendRaw(FrameCoder.header(length: 5000))
        let response = try XCTUnwrap(client.receiveOrClose())
        XCTAssertEqual(response.error?.code, RPCErrorCode.inputTooLarge)
        XCTAssertEqual(response.id, .null)
        XCTAssertNil(try client.receiveOrClose())
    }

    func testTheLargestPossibleLengthIsRejectedLikeAnyOversizedFrame() throws {
        let client = try server.client()
        try client.sendRaw([0xff, 0xff, 0xff, 0xff, 0x7b])
        XCTAssertEqual(try client.receiveOrClose()?.error?.code, RPCErrorCode.inputTooLarge)
        XCTAssertNil(try client.receiveOrClose())
    }

    func testAZeroLengthFrameIsAParseErrorAndTheConnectionStaysUsable() throws {
        let client = try server.client()
        try client.sendRaw(FrameCoder.header(length: 0))
        XCTAssertEqual(try client.receive().error?.code, RPCErrorCode.parseError)
        XCTAssertNoThrow(try client.call(Method.health))
    }

    func testAStreamEndingInsideAFrameIsAnsweredAndClosed() throws {
        let client = try server.client()
        try client.sendRaw(FrameCoder.header(length: 100) + Array("{\"jsonrpc\"".utf8))
        client.socket.finishWriting()
        let response = try XCTUnwrap(client.receiveOrClose())
        XCTAssertEqual(response.error?.code, RPCErrorCode.parseError)
        XCTAssertNil(try client.receiveOrClose())
    }

    func testARequestFollowedByHalfCloseIsStillAnswered() throws {
        let client = try server.client()
        try client.send(RPCRequest(id: 9, method: Method.predict, params: TestDaemon.predictParams(["cat"])))
        client.socket.finishWriting()
        XCTAssertEqual(try client.receiveOrClose()?.id, 9)
        XCTAssertNil(try client.receiveOrClose())
    }

    func testInvalidUTF8AndInvalidJSONAreParseErrorsWithNullId() throws {
        for body in [[0x7b, 0xff, 0xfe, 0x7d], Array("{\"jsonrpc\": \"2.0\", ".utf8), Array("nul".utf8)] as [[UInt8]] {
            let response = try answer(toBody: body)
            XCTAssertEqual(response.error?.code, RPCErrorCode.parseError)
            XCTAssertEqual(response.id, .null)
        }
    }

    func testMalformedRequestsAreInvalidRequestWithTheirIdWhenReadable() throws {
        let cases: [(String, JSONValue)] = [
            (#"{"jsonrpc":"2.0","method":"health"}"#, .null),
            (#"{"jsonrpc":"1.0","id":4,"method":"health"}"#, 4),
            (#"{"jsonrpc":"2.0","id":5,"method":7}"#, 5),
            (#"{"jsonrpc":"2.0","id":[1],"method":"health"}"#, .null),
            (#"[{"jsonrpc":"2.0","id":1,"method":"health"}]"#, .null),
            ("42", .null),
        ]
        for (text, id) in cases {
            let response = try answer(to: text)
            XCTAssertEqual(response.error?.code, RPCErrorCode.invalidRequest, text)
            XCTAssertEqual(response.id, id, text)
        }
    }

    func testAnUnknownMethodIsMethodNotFound() throws {
        let response = try answer(to: #"{"jsonrpc":"2.0","id":"x","method":"launch"}"#)
        XCTAssertEqual(response.error?.code, RPCErrorCode.methodNotFound)
        XCTAssertEqual(response.id, "x")
    }

    func testWrongParameterTypesAreInvalidParamsNamingTheKey() throws {
        let image = TestDaemon.predictParams(["cat"])["image"]!
        let cases: [JSONValue] = [
            ["image": image, "hypothesis": 3],
            ["image": image],
            ["image": image, "hypothesis": "a", "hypotheses": ["b"]],
            ["image": image, "hypotheses": []],
            ["image": ["data": "not base64!"], "hypothesis": "a"],
            ["image": [:], "hypothesis": "a"],
            ["hypothesis": "a"],
        ]
        for params in cases {
            let response = try answer(
                toBody: RPCRequest(id: 1, method: Method.predict, params: params).json.serialized())
            XCTAssertEqual(response.error?.code, RPCErrorCode.invalidParams, params.text)
        }
        let typed = try answer(toBody: RPCRequest(id: 1, method: Method.predict, params: cases[0]).json.serialized())
        XCTAssertTrue(typed.error?.message.contains("hypothesis") ?? false, typed.error?.message ?? "")
        let positional = try answer(to: #"{"jsonrpc":"2.0","id":2,"method":"predict","params":[1,2]}"#)
        XCTAssertEqual(positional.error?.code, RPCErrorCode.invalidParams)
    }

    func testACorruptImageIsReportedAsUndecodable() throws {
        var corrupt = TestDaemon.image
        corrupt.replaceSubrange(12..<16, with: Array("JUNK".utf8))
        for bytes in [corrupt, Array("GIF8".utf8), [0xff, 0xd8, 0xff, 0x00], [1, 2, 3]] {
            let response = try answer(
                toBody: RPCRequest(
                    id: 1, method: Method.predict,
                    params: TestDaemon.predictParams(["cat"], image: bytes)
                ).json.serialized())
            XCTAssertEqual(response.error?.code, RPCErrorCode.imageUndecodable)
        }
    }

    func testTooManyPixelsAndTooLongTextAreInputTooLarge() throws {
        // A small PNG whose header claims 200×200 pixels: refused on the header alone.
        var big = TestDaemon.image
        big.replaceSubrange(16..<24, with: [0, 0, 0, 200, 0, 0, 0, 200])
        let pixels = try answer(
            toBody: RPCRequest(
                id: 1, method: Method.predict,
                params: TestDaemon.predictParams(["cat"], image: big)
            ).json.serialized())
        XCTAssertEqual(pixels.error?.code, RPCErrorCode.inputTooLarge)
        let text = try answer(
            toBody: RPCRequest(
                id: 1, method: Method.predict,
                params: TestDaemon.predictParams(
                    [String(repeating: "cat ", count: 300)])
            ).json.serialized())
        XCTAssertEqual(text.error?.code, RPCErrorCode.inputTooLarge)
        XCTAssertEqual(text.error?.message, "text of 1200 characters, over the limit of 1024")
    }

    func testGarbageOnOneConnectionDoesNotDisturbAnother() throws {
        let good = try server.client()
        try good.send(RPCRequest(id: 1, method: Method.predict, params: TestDaemon.predictParams(["cat"])))
        let bad = try server.client()
        try bad.sendRaw((0..<2000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })
        XCTAssertEqual(try good.receive().id, 1)
        XCTAssertNoThrow(try good.call(Method.health))
    }
}

// JSON-RPC parsing and the typed params/results, plus a bounded fuzz of the request decoder.
import Foundation
import OFAWire
import XCTest

final class RPCMessageTests: XCTestCase {
    func testAWellFormedRequestParses() throws {
        let body = Array(#"{"jsonrpc":"2.0","id":"a1","method":"predict","params":{"hypothesis":"x"}}"#.utf8)
        let request = try RPCRequest.parse(body).get()
        XCTAssertEqual(request.id, "a1")
        XCTAssertEqual(request.method, "predict")
        XCTAssertEqual(request.params?["hypothesis"], "x")
    }

    func testLargeIntegerIdsComeBackUnchanged() throws {
        let body = Array(#"{"jsonrpc":"2.0","id":9007199254740993,"method":"health"}"#.utf8)
        let request = try RPCRequest.parse(body).get()
        XCTAssertEqual(
            RPCResponse(id: request.id, result: .null).json.text,
            #"{"id":9007199254740993,"jsonrpc":"2.0","result":null}"#)
    }

    func testResponsesCarryExactlyOneOfResultAndError() throws {
        let ok = RPCResponse(id: 1, result: ["state": "ready"])
        XCTAssertEqual(ok.json.text, #"{"id":1,"jsonrpc":"2.0","result":{"state":"ready"}}"#)
        let failed = RPCResponse(id: .null, error: RPCError(code: -32700, message: "bad"))
        XCTAssertEqual(failed.json.text, #"{"error":{"code":-32700,"message":"bad"},"id":null,"jsonrpc":"2.0"}"#)
        XCTAssertEqual(try RPCResponse.parse(failed.serialized()), failed)
        XCTAssertEqual(try RPCResponse.parse(ok.serialized()), ok)
    }

    func testPredictParamsAcceptOneOrManyHypotheses() throws {
        let one = try JSONValue(parsing: Array(#"{"image":{"data":"AQID"},"hypothesis":"h"}"#.utf8)).decode(
            PredictParams.self)
        XCTAssertEqual(one.allHypotheses, ["h"])
        XCTAssertEqual(one.image.data?.bytes, [1, 2, 3])
        let many = try JSONValue(parsing: Array(#"{"image":{"path":"/x"},"hypotheses":["a","b"]}"#.utf8))
            .decode(PredictParams.self)
        XCTAssertEqual(many.allHypotheses, ["a", "b"])
    }

    func testFloatArraysRoundTripWithDtypeShapeAndByteOrder() throws {
        let array = FloatArray(shape: [2, 3], values: [0, 1, -2.5, .infinity, 1e-20, 3])
        let json = try JSONValue(encoding: array)
        XCTAssertEqual(json["dtype"], "float32")
        XCTAssertEqual(json["byte_order"], "little")
        XCTAssertEqual(json["shape"], [2, 3])
        XCTAssertEqual(try json.decode(FloatArray.self), array)
        let bigEndian: JSONValue = [
            "dtype": "float32", "byte_order": "big", "shape": [1],
            "data": .string(Data([0x3f, 0x80, 0, 0]).base64EncodedString()),
        ]
        XCTAssertEqual(try bigEndian.decode(FloatArray.self).values, [1])
        let wrongSize: JSONValue = ["dtype": "float32", "byte_order": "little", "shape": [2], "data": "AAAAAA=="]
        XCTAssertThrowsError(try wrongSize.decode(FloatArray.self))
        let float64: JSONValue = ["dtype": "float64", "byte_order": "little", "shape": [0], "data": ""]
        XCTAssertThrowsError(try float64.decode(FloatArray.self))
    }

    /// Mutated requests and arbitrary bytes never crash the parser, and every failure carries a standard code.
    func testTheRequestDecoderSurvivesFuzzedInput() {
        var generator = SplitMix64(seed: 99)
        let seeds = [
            #"{"jsonrpc":"2.0","id":1,"method":"predict","params":{"image":{"data":"AQID"},"hypothesis":"x"}}"#,
            #"{"jsonrpc":"2.0","id":"s","method":"health"}"#, "[]", "{}", "null",
        ].map { Array($0.utf8) }
        for round in 0..<3000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<Int.random(in: 0...6, using: &generator) where !bytes.isEmpty {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0...2, using: &generator) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &generator)
                case 1: bytes.remove(at: index)
                default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: index)
                }
            }
            if case .failure(let rejection) = RPCRequest.parse(bytes) {
                XCTAssertTrue([-32700, -32600, -32602].contains(rejection.error.code), "\(rejection)")
            }
        }
    }
}

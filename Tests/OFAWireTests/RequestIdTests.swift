// A request's id comes back exactly as the client wrote it (issue 12, finding 12), and MemberText finds it.
import Foundation
import OFAWire
import XCTest

final class RequestIdTests: XCTestCase {
    private func echoed(_ idText: String, method: String = "health") throws -> String {
        let body = Array(#"{"jsonrpc":"2.0","id":\#(idText),"method":"\#(method)"}"#.utf8)
        let request = try RPCRequest.parse(body).get()
        let response = RPCResponse(id: request.id, idText: request.idText, result: .null)
        return String(decoding: response.serialized(), as: UTF8.self)
    }

    func testIntegerIdsBeyondInt64ComeBackDigitForDigit() throws {
        for id in [
            "123456789012345678901234567890", "-98765432109876543210", "18446744073709551616",
            "1" + String(repeating: "0", count: 80),
        ] {
            XCTAssertEqual(try echoed(id), #"{"id":\#(id),"jsonrpc":"2.0","result":null}"#)
        }
    }

    func testNumericIdsKeepTheirSpelling() throws {
        for id in ["1.0", "0.1000000000000000055511151231257827", "1e3", "-0", "2.5E-7", "42"] {
            XCTAssertEqual(try echoed(id), #"{"id":\#(id),"jsonrpc":"2.0","result":null}"#)
        }
    }

    func testStringAndNullIdsAreWrittenAsBefore() throws {
        XCTAssertEqual(try echoed(#""a\u0031""#), #"{"id":"a1","jsonrpc":"2.0","result":null}"#)
        XCTAssertEqual(try echoed("null"), #"{"id":null,"jsonrpc":"2.0","result":null}"#)
    }

    func testARejectedRequestAnswersUnderTheExactIdToo() throws {
        let body = Array(#"{"jsonrpc":"1.0","id":123456789012345678901234567890,"method":"health"}"#.utf8)
        guard case .failure(let rejection) = RPCRequest.parse(body) else { return XCTFail("parsed") }
        let response = RPCResponse(id: rejection.id, idText: rejection.idText, error: rejection.error)
        XCTAssertEqual(
            String(decoding: response.serialized(), as: UTF8.self),
            #"{"error":{"code":-32600,"message":"\"jsonrpc\" must be \"2.0\""},"id":123456789012345678901234567890,"#
                + #""jsonrpc":"2.0"}"#)
    }

    func testTheExactTextIsValidJSONWithTheSameMembers() throws {
        let body = Array(#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"health"}"#.utf8)
        let request = try RPCRequest.parse(body).get()
        let response = RPCResponse(id: request.id, idText: request.idText, result: ["state": "ready"])
        let parsed = try RPCResponse.parse(response.serialized())
        XCTAssertEqual(parsed.id, request.id)
        XCTAssertEqual(parsed.result, ["state": "ready"])
    }

    func testMemberTextSkipsNestedValuesAndStringsWithBracesAndQuotes() {
        let text = Array(#" { "params" : {"id": 1, "s": "}\"{"}, "list": [1, [2, "]"]], "id" : 77e-1 , "z": 0}"#.utf8)
        XCTAssertEqual(MemberText.value(of: "id", in: text).map { String(decoding: $0, as: UTF8.self) }, "77e-1")
        XCTAssertNil(MemberText.value(of: "missing", in: text))
        XCTAssertNil(MemberText.value(of: "id", in: Array("[1, 2]".utf8)))
        XCTAssertNil(MemberText.value(of: "id", in: Array(#"{"id""#.utf8)))
        let nested = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        let deep = Array(("{\"a\":" + nested + "}").utf8)
        XCTAssertNil(MemberText.value(of: "id", in: deep))
    }
}

/// Shapes read from a response or an .npy file (issue 12: a fuzzer found a shape whose product overflowed).
final class HostileShapeTests: XCTestCase {
    func testAResponseArrayWhoseShapeProductOverflowsIsAnErrorNotACrash() throws {
        let text = #"{"dtype":"float32","byte_order":"little","shape":[4294967296,4294967296],"data":""}"#
        XCTAssertThrowsError(try JSONValue(parsing: Array(text.utf8)).decode(FloatArray.self))
        let negative = #"{"dtype":"float32","byte_order":"little","shape":[-1,-4],"data":"AACAPwAAAEA="}"#
        XCTAssertThrowsError(try JSONValue(parsing: Array(negative.utf8)).decode(FloatArray.self))
    }

    func testAnNPYFileWhoseShapeHoldsMoreThanItsBytesIsRefused() throws {
        var file = NPYFile.encode(NPYArray(shape: [2], values: [1, 2]))
        let header = String(decoding: file, as: UTF8.self)
        let range = try XCTUnwrap(header.range(of: "(2,)"))
        let offset = header.utf8.distance(from: header.startIndex, to: range.lowerBound)
        // Same length, so the header stays well formed: "(2,)" becomes "(9,)".
        file[offset + 1] = UInt8(ascii: "9")
        XCTAssertThrowsError(try NPYFile.decode(file))
        XCTAssertEqual([4_294_967_296, 4_294_967_296].checkedProduct(), nil)
        XCTAssertEqual([3, 0, 5].checkedProduct(), 0)
        XCTAssertEqual([2, 3].checkedProduct(limit: 5), nil)
    }
}

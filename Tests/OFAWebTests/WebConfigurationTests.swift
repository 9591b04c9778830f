// ofa-web's settings: the same table-driven resolution as ofad's (command line over environment over defaults), with
// bad values named by option and source, and the loopback rule checked on the result.
import OFAWeb
import XCTest

final class WebConfigurationTests: XCTestCase {
    func testTheCommandLineWinsOverTheEnvironmentWhichWinsOverTheDefaults() throws {
        let environment = ["OFA_WEB_PORT": "9000", "OFAD_SOCKET": "/tmp/o.sock", "OFA_WEB_THREADS": "2"]
        let resolved = try WebConfiguration.resolve(commandLine: ["threads": "4"], environment: environment)
        XCTAssertEqual(resolved.port, 9000)
        XCTAssertEqual(resolved.socketPath, "/tmp/o.sock")
        XCTAssertEqual(resolved.gatewayThreads, 4)
        XCTAssertEqual(resolved.host, WebConfiguration().host)
    }

    func testBadValuesAndARemoteHostNotAskedForAreRefusedNamingTheOption() {
        XCTAssertThrowsError(try WebConfiguration.resolve(environment: ["OFA_WEB_PORT": "70000"])) {
            XCTAssertEqual("\($0)", "invalid --port (from OFA_WEB_PORT=70000): not a whole number in 0…65535")
        }
        XCTAssertThrowsError(try WebConfiguration.resolve(commandLine: ["host": "0.0.0.0"], environment: [:])) {
            XCTAssertTrue("\($0)".contains("--allow-remote"), "\($0)")
        }
        XCTAssertNoThrow(
            try WebConfiguration.resolve(commandLine: ["host": "0.0.0.0"], environment: ["OFA_WEB_ALLOW_REMOTE": "1"]))
        XCTAssertThrowsError(try WebConfiguration.resolve(environment: ["OFA_WEB_ALLOW_REMOTE": "maybe"]))
    }

    func testHelpShowsEachVariableAndDefault() {
        XCTAssertEqual(WebConfiguration.settings.help("port"), "TCP port (0: any free one). [OFA_WEB_PORT; 7860]")
        XCTAssertTrue(WebConfiguration.settings.help("socket").hasSuffix("[OFAD_SOCKET; /run/ofad/ofad.sock]"))
    }
}

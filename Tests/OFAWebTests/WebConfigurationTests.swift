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

    func testTheLimitsOnHostileClientsResolveAndRefuseBadValuesNamingTheOption() throws {
        let resolved = try WebConfiguration.resolve(
            commandLine: ["request-timeout": "0.5"],
            environment: [
                "OFA_WEB_SERVER_NAME": "ofa.example.org", "OFA_WEB_MAX_CONNECTIONS": "32", "OFA_WEB_IDLE_TIMEOUT": "5",
                "OFA_WEB_MAX_BYTES_IN_FLIGHT": "33554432",
            ])
        XCTAssertEqual(resolved.serverName, "ofa.example.org")
        XCTAssertEqual(resolved.maximumConnections, 32)
        XCTAssertEqual(resolved.idleTimeout, 5)
        XCTAssertEqual(resolved.requestTimeout, 0.5)
        XCTAssertEqual(resolved.maximumBytesInFlight, 32 * 1024 * 1024)
        for (environment, message) in [
            (
                ["OFA_WEB_SERVER_NAME": "ofa.example:80"],
                "invalid --server-name (from OFA_WEB_SERVER_NAME=ofa.example:80): not a host name or address (no port)"
            ),
            (
                ["OFA_WEB_MAX_CONNECTIONS": "0"],
                "invalid --max-connections (from OFA_WEB_MAX_CONNECTIONS=0): not a whole number ≥ 1"
            ),
            (
                ["OFA_WEB_IDLE_TIMEOUT": "0"],
                "invalid --idle-timeout (from OFA_WEB_IDLE_TIMEOUT=0): not a positive number of seconds"
            ),
            (
                ["OFA_WEB_REQUEST_TIMEOUT": "soon"],
                "invalid --request-timeout (from OFA_WEB_REQUEST_TIMEOUT=soon): not a positive number of seconds"
            ),
            (
                ["OFA_WEB_MAX_BYTES_IN_FLIGHT": "1048576"],
                "invalid --max-bytes-in-flight: below --max-upload-bytes (16777216): no upload would fit"
            ),
        ] {
            XCTAssertThrowsError(try WebConfiguration.resolve(environment: environment)) {
                XCTAssertEqual("\($0)", message)
            }
        }
        var configuration = WebConfiguration()
        configuration.serverName = "user@ofa.example.org"
        XCTAssertThrowsError(try configuration.validate()) { XCTAssertTrue("\($0)".contains("--server-name"), "\($0)") }
    }

    func testHelpShowsEachVariableAndDefault() {
        XCTAssertEqual(WebConfiguration.settings.help("port"), "TCP port (0: any free one). [OFA_WEB_PORT; 7860]")
        XCTAssertTrue(WebConfiguration.settings.help("socket").hasSuffix("[OFAD_SOCKET; /run/ofad/ofad.sock]"))
        XCTAssertTrue(WebConfiguration.settings.help("server-name").hasSuffix("[OFA_WEB_SERVER_NAME; none]"))
        XCTAssertTrue(WebConfiguration.settings.help("max-connections").hasSuffix("[OFA_WEB_MAX_CONNECTIONS; 256]"))
        XCTAssertTrue(WebConfiguration.settings.help("idle-timeout").hasSuffix("[OFA_WEB_IDLE_TIMEOUT; 60]"))
        XCTAssertTrue(WebConfiguration.settings.help("request-timeout").hasSuffix("[OFA_WEB_REQUEST_TIMEOUT; 60]"))
        XCTAssertTrue(
            WebConfiguration.settings.help("max-bytes-in-flight").hasSuffix("[OFA_WEB_MAX_BYTES_IN_FLIGHT; 67108864]"))
    }
}

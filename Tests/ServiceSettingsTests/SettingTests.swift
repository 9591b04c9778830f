// A settings table resolves the command line over the environment over the defaults, names the setting and where
// its value came from when it refuses one, and gives each option's help with its variable and default.
import ServiceSettings
import XCTest

final class SettingTests: XCTestCase {
    struct Example: Equatable {
        enum Mode: String, CaseIterable, Sendable { case fast, exact }
        var threads = 0
        var mode = Mode.exact
        var timeout = 60.0
        var name = ""
    }

    let table = SettingsTable(
        defaults: Example(),
        [
            Setting(
                "threads", environment: "EX_THREADS", \Example.threads, summary: "Threads.",
                parse: SettingParser.integer(minimum: 0)),
            Setting(
                "mode", environment: "EX_MODE", \Example.mode, summary: "Mode.",
                parse: SettingParser.choice(Example.Mode.self), show: \.rawValue),
            Setting(
                "timeout", environment: "EX_TIMEOUT", \Example.timeout, summary: "Seconds.",
                parse: SettingParser.seconds),
            Setting("name", environment: "EX_NAME", \Example.name, summary: "Name.", parse: SettingParser.text),
        ],
        check: { if $0.mode == .fast && $0.threads == 1 { throw SettingValueError("fast needs threads") } })

    func testTheCommandLineWinsOverTheEnvironmentWhichWinsOverTheDefault() throws {
        let resolved = try table.resolve(
            commandLine: ["threads": "3"], environment: ["EX_THREADS": "2", "EX_MODE": "fast", "EX_NAME": ""])
        XCTAssertEqual(resolved, Example(threads: 3, mode: .fast, timeout: 60, name: ""))
        XCTAssertEqual(try table.resolve(commandLine: [:], environment: [:]), Example())
    }

    func testARefusedValueNamesTheSettingAndWhereItCameFrom() {
        XCTAssertThrowsError(try table.resolve(commandLine: [:], environment: ["EX_THREADS": "-1"])) {
            XCTAssertEqual("\($0)", "invalid --threads (from EX_THREADS=-1): not a whole number ≥ 0")
        }
        XCTAssertThrowsError(try table.resolve(commandLine: ["mode": "quick"], environment: [:])) {
            XCTAssertEqual("\($0)", "invalid --mode \"quick\": not one of fast, exact")
        }
        XCTAssertThrowsError(try table.resolve(commandLine: ["timeout": "0"], environment: [:]))
        XCTAssertThrowsError(try table.resolve(commandLine: ["threads": "1", "mode": "fast"], environment: [:])) {
            XCTAssertEqual($0 as? SettingError, .conflict("fast needs threads"))
        }
        XCTAssertThrowsError(try table.resolve(commandLine: ["colour": "red"], environment: [:])) {
            XCTAssertEqual($0 as? SettingError, .unknown("colour"))
        }
    }

    func testHelpGivesTheVariableAndTheDefault() {
        XCTAssertEqual(table.help("threads"), "Threads. [EX_THREADS; 0]")
        XCTAssertEqual(table.help("mode"), "Mode. [EX_MODE; exact]")
        XCTAssertEqual(table.help("name"), "Name. [EX_NAME; none]")
    }
}

// ofad's systemd units pass systemd-analyze verify and its offline security check.
import Foundation
import OFAServer
import XCTest

final class SystemdUnitTests: XCTestCase {
    func testTheUnitsPassSystemdAnalyzeVerify() throws {
        let analyze = try requireTool("systemd-analyze")
        let ofad = try executable("ofad")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for unit in ["ofad.service", "ofad.socket"] {
            let text = try String(contentsOfFile: repositoryRoot + "/systemd/" + unit, encoding: .utf8)
            // verify wants ExecStart's binary to exist: point it at the one just built.
            try text.replacingOccurrences(of: "/usr/local/bin/ofad", with: ofad)
                .write(toFile: directory + "/" + unit, atomically: true, encoding: .utf8)
        }
        let verify = try runProcess(analyze, ["verify", directory + "/ofad.socket", directory + "/ofad.service"])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertEqual(verify.stderr, "", "verify had remarks")
        // Issue 12: exposure at most 1.0 (--threshold counts tenths).
        let security = try runProcess(
            analyze,
            [
                "security", "--offline=yes", "--threshold=10",
                directory + "/ofad.service",
            ])
        XCTAssertEqual(security.status, 0, security.stdout)
    }

    func testTheServiceSetsItsFileLimitAboveTheConnectionLimit() throws {
        let text = try String(contentsOfFile: repositoryRoot + "/systemd/ofad.service", encoding: .utf8)
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("LimitNOFILE=") })
        let limit = try XCTUnwrap(Int(line.dropFirst("LimitNOFILE=".count)))
        XCTAssertGreaterThan(limit, DaemonConfiguration().maximumConnections + 64)
    }
}

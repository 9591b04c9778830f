// ofad's systemd units pass systemd-analyze verify and its offline security check.
import Foundation
import OFAServer
import XCTest

final class SystemdUnitTests: XCTestCase {
    /// The units in a new directory, ExecStart pointed at the ofad just built (verify wants the binary to exist).
    func stageUnits() throws -> String {
        let ofad = try executable("ofad")
        let directory = try makeTemporaryDirectory()
        for unit in ["ofad.service", "ofad.socket"] {
            let text = try String(contentsOfFile: repositoryRoot + "/systemd/" + unit, encoding: .utf8)
            try text.replacingOccurrences(of: "/usr/local/bin/ofad", with: ofad)
                .write(toFile: directory + "/" + unit, atomically: true, encoding: .utf8)
        }
        return directory
    }

    func testTheUnitsPassSystemdAnalyzeVerify() throws {
        let analyze = try requireTool("systemd-analyze")
        let directory = try stageUnits()
        defer { try? FileManager.default.removeItem(atPath: directory) }
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

    /// The GPU drop-in verifies with the unit (read from the unit's own directory), opens exactly the NVIDIA device
    /// classes, and the unit itself keeps its devices private and names its kernel cache.
    func testTheGPUDropInVerifiesAndOnlyItOpensTheNVIDIADevices() throws {
        let analyze = try requireTool("systemd-analyze")
        let directory = try stageUnits()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(
            atPath: directory + "/ofad.service.d", withIntermediateDirectories: true)
        let dropIn = try String(contentsOfFile: repositoryRoot + "/systemd/ofad-gpu.conf", encoding: .utf8)
        try dropIn.write(toFile: directory + "/ofad.service.d/gpu.conf", atomically: true, encoding: .utf8)
        let verify = try runProcess(
            analyze, ["verify", directory + "/ofad.socket", directory + "/ofad.service"],
            environment: ["SYSTEMD_UNIT_PATH": directory + ":"])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertEqual(verify.stderr, "", "verify had remarks on the drop-in")
        let lines = Set(dropIn.split(separator: "\n").map(String.init))
        for device in ["nvidiactl", "nvidia-frontend", "nvidia-uvm", "nvidia-caps"] {
            XCTAssertTrue(lines.contains("DeviceAllow=char-\(device) rw"), device)
        }
        XCTAssertTrue(
            lines.isSuperset(of: ["PrivateDevices=no", "DevicePolicy=closed", "Environment=OFAD_DEVICE=cuda"]))
        let unit = Set(
            try String(contentsOfFile: repositoryRoot + "/systemd/ofad.service", encoding: .utf8).split(separator: "\n")
                .map(String.init))
        XCTAssertTrue(unit.isSuperset(of: ["PrivateDevices=yes", "CacheDirectory=ofad"]))
        XCTAssertFalse(unit.contains { $0.hasPrefix("DeviceAllow=") })
    }

    func testTheServiceSetsItsFileLimitAboveTheConnectionLimit() throws {
        let text = try String(contentsOfFile: repositoryRoot + "/systemd/ofad.service", encoding: .utf8)
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("LimitNOFILE=") })
        let limit = try XCTUnwrap(Int(line.dropFirst("LimitNOFILE=".count)))
        XCTAssertGreaterThan(limit, DaemonConfiguration().maximumConnections + 64)
    }
}

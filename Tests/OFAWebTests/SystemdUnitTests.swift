// systemd/ofa-web.service: valid, sandboxed, confined to loopback peers by default, with room for its connections.
import Foundation
import OFAWeb
import XCTest

final class SystemdUnitTests: XCTestCase {
    func testTheUnitPassesSystemdAnalyzeVerifyAndSecurity() throws {
        let analyze = try requireTool("systemd-analyze", package: "systemd")
        let web = try executable("ofa-web")
        let directory = "/tmp/ofa-web-unit-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let text = try String(contentsOfFile: repositoryRoot + "/systemd/ofa-web.service", encoding: .utf8)
        XCTAssertTrue(text.contains("IPAddressAllow=localhost") && text.contains("IPAddressDeny=any"))
        XCTAssertTrue(text.contains("SupplementaryGroups=ofad-users"), "may talk to ofad's socket")
        // verify wants ExecStart's binary to exist: point it at the one just built.
        try text.replacingOccurrences(of: "/usr/local/bin/ofa-web", with: web)
            .write(toFile: directory + "/ofa-web.service", atomically: true, encoding: .utf8)
        let verify = try run(analyze, ["verify", directory + "/ofa-web.service"])
        XCTAssertEqual(verify.status, 0, verify.output)
        XCTAssertEqual(verify.output, "", "verify had remarks")
        let security = try run(
            analyze, ["security", "--offline=yes", "--threshold=20", directory + "/ofa-web.service"])
        XCTAssertEqual(security.status, 0, security.output)
    }

    func testTheServiceSetsItsFileLimitAboveTheConnectionLimitAndTheDaemonCalls() throws {
        let text = try String(contentsOfFile: repositoryRoot + "/systemd/ofa-web.service", encoding: .utf8)
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("LimitNOFILE=") })
        let limit = try XCTUnwrap(Int(line.dropFirst("LimitNOFILE=".count)))
        let defaults = WebConfiguration()
        XCTAssertGreaterThan(limit, defaults.maximumConnections + defaults.gatewayThreads + 64)
    }

    private func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

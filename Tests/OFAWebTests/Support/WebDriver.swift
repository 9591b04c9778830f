// A minimal W3C WebDriver client for chromedriver (Debian's chromium-driver), over the raw HTTP test client:
// the same protocol selenium speaks, without installing selenium.
import Foundation
import XCTest

final class WebDriver {
    private let driver = Process()
    private let port: Int
    private var session = ""

    /// Starts chromedriver and a headless Chromium session; skips loudly when either is not installed.
    init(width: Int = 1200, height: Int = 1000) throws {
        let chromium = try requireTool("chromium", package: "chromium")
        let chromedriver = try requireTool("chromedriver", package: "chromium-driver")
        port = freePort()
        driver.executableURL = URL(fileURLWithPath: chromedriver)
        driver.arguments = ["--port=\(port)"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        guard waitUntil(timeout: 20, { (try? httpRequest(port: self.port, path: "/status"))?.status == 200 }) else {
            throw XCTSkip("SKIPPED: chromedriver did not start")
        }
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": chromium,
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=\(width),\(height)", "--hide-scrollbars",
                        ],
                    ],
                ]
            ]
        ]
        let created = try command("POST", "/session", capabilities)
        session = try XCTUnwrap(created["sessionId"] as? String, "a WebDriver session")
    }

    deinit {
        if !session.isEmpty { _ = try? command("DELETE", "/session/\(session)", nil) }
        if driver.isRunning {
            driver.terminate()
            driver.waitUntilExit()
        }
    }

    /// Sends one WebDriver command and returns its `value`.
    @discardableResult
    func command(_ method: String, _ path: String, _ body: Any?) throws -> [String: Any] {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let reply = try httpRequest(
            port: port, method: method, path: path, headers: data == nil ? [:] : ["Content-Type": "application/json"],
            body: data.map(Array.init))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])
        if reply.status != 200 { throw WebDriverError.failed(path, "\(object["value"] ?? object)") }
        if let value = object["value"] as? [String: Any] { return value }
        return ["value": object["value"] ?? NSNull()]
    }

    func open(_ url: String) throws { try command("POST", "/session/\(session)/url", ["url": url]) }

    func element(_ css: String) throws -> String {
        let found = try command("POST", "/session/\(session)/element", ["using": "css selector", "value": css])
        return try XCTUnwrap(found.values.first as? String, "element \(css)")
    }

    func type(_ text: String, into css: String) throws {
        try command("POST", "/session/\(session)/element/\(try element(css))/value", ["text": text])
    }

    func click(_ css: String) throws {
        try command("POST", "/session/\(session)/element/\(try element(css))/click", [:])
    }

    /// Runs JavaScript in the page and returns what it returns.
    func script(_ source: String) throws -> Any? {
        try command("POST", "/session/\(session)/execute/sync", ["script": source, "args": []])["value"]
    }

    func waitFor(_ javascriptCondition: String, timeout: Double = 30) -> Bool {
        waitUntil(timeout: timeout) { ((try? script("return Boolean(\(javascriptCondition));")) as? Bool) == true }
    }

    func resize(width: Int, height: Int) throws {
        try command("POST", "/session/\(session)/window/rect", ["width": width, "height": height])
    }

    func screenshot() throws -> Data {
        let value = try command("GET", "/session/\(session)/screenshot", nil)["value"] as? String
        return try XCTUnwrap(value.flatMap { Data(base64Encoded: $0) }, "a PNG screenshot")
    }
}

enum WebDriverError: Error {
    case failed(String, String)
}

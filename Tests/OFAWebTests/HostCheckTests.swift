// The Host rule against DNS rebinding: a loopback server (or one given a server name) answers only for exact
// loopback names and addresses and that name; a Host that is not host[:port] is a bad request.
import OFAWeb
import XCTest

final class HostCheckTests: XCTestCase {
    /// Host header → the status a loopback server answers `GET /` with.
    static let loopbackCases: [(host: String, status: Int)] = [
        ("127.0.0.1:7860", 200), ("127.0.0.1", 200), ("localhost", 200), ("LocalHost:7860", 200), ("[::1]:7860", 200),
        ("[::1]", 200), ("[0:0:0:0:0:0:0:1]", 200), ("127.1.2.3", 200), ("127.255.255.254:80", 200),
        // Names that merely start like loopback, or resolve there: DNS rebinding.
        ("127.rebind.attacker.example", 421), ("127.0.0.1.nip.io", 421), ("127.0.0.1.nip.io:7860", 421),
        ("localhost.attacker.example", 421), ("attacker.example:7860", 421), ("127.0.0.01", 421), ("127.1", 421),
        ("128.0.0.1", 421), ("[::2]", 421), ("[::ffff:127.0.0.1]", 421),
        // Not host[:port] at all: userinfo, paths, bad ports, spaces, empty.
        ("localhost:80@evil.example", 400), ("user@localhost", 400), ("localhost/evil", 400),
        ("localhost:", 400), ("localhost:65536", 400), ("localhost:99999999999999999999", 400), ("localhost:-1", 400),
        ("localhost:+80", 400), ("localhost:0x50", 400), ("localhost:80:80", 400), ("local host", 400), ("", 400),
        ("[::1", 400), ("[::1]x", 400), ("[::1]:", 400), ("::1", 400), ("[fe80::1%25eth0]", 400), ("[v1.x]", 400),
    ]

    func testALoopbackServerAnswersOnlyLoopbackHostsAndRefusesMalformedOnes() throws {
        let web = try TestWebServer(gateway: RecordingGateway())
        for (host, status) in Self.loopbackCases {
            let connection = try HTTPTestConnection(port: web.port, timeout: 5)
            connection.send("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n")
            let reply = connection.receive()
            XCTAssertEqual(reply?.status, status, "Host: \(host)")
            if status != 200 {
                XCTAssertEqual(reply?.errorKind, status == 421 ? "misdirected" : "bad_request", host)
                XCTAssertTrue(connection.isClosedByServer(), host)
            }
        }
    }

    func testAnHTTP11RequestNeedsExactlyOneHostAndHTTP10MayHaveNone() throws {
        let web = try TestWebServer(gateway: RecordingGateway())
        for (request, status) in [
            ("GET / HTTP/1.1\r\n\r\n", 400), ("GET / HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n", 400),
            ("GET / HTTP/1.0\r\n\r\n", 200), ("GET / HTTP/1.0\r\nHost: 127.rebind.attacker.example\r\n\r\n", 421),
        ] {
            let connection = try HTTPTestConnection(port: web.port, timeout: 5)
            connection.send(request)
            XCTAssertEqual(connection.receive()?.status, status, request)
        }
    }

    func testTheConfiguredServerNameIsAnsweredBesidesLoopbackInAnyCase() throws {
        let web = try TestWebServer(gateway: RecordingGateway()) { $0.serverName = "ofa.example.org" }
        for (host, status) in [
            ("ofa.example.org", 200), ("OFA.Example.ORG:7860", 200), ("127.0.0.1:7860", 200), ("[::1]", 200),
            ("ofa.example.org.attacker.example", 421), ("attacker.example", 421), ("ofa.example.org:x", 400),
        ] {
            let connection = try HTTPTestConnection(port: web.port, timeout: 5)
            connection.send("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n")
            XCTAssertEqual(connection.receive()?.status, status, "Host: \(host)")
        }
    }

    func testTheHostHeaderParsesAsHostAndPort() {
        XCTAssertEqual(HostHeader("127.0.0.1:7860"), HostHeader(name: .ipv4(127, 0, 0, 1), port: 7860))
        XCTAssertEqual(HostHeader("[::1]:0"), HostHeader(name: .ipv6([0, 0, 0, 0, 0, 0, 0, 1]), port: 0))
        XCTAssertEqual(HostHeader("Example.COM"), HostHeader(name: .registered("example.com"), port: nil))
        XCTAssertEqual(HostHeader("h:065535")?.port, 65535, "leading zeros are still digits")
        XCTAssertEqual(HostHeader("[2001:db8::7]")?.name, .ipv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 7]))
        XCTAssertEqual(HostHeader("[::ffff:10.0.0.1]")?.name, .ipv6([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]))
        XCTAssertEqual(HostHeader("a%2Db")?.name, .registered("a%2db"), "a percent-escape is part of a name")
        for malformed in ["[1:2:3:4:5:6:7:8:9]", "[1::2::3]", "[12345::]", "[::1.2.3]", "[:::]", "a%2", "a%zz", "é"] {
            XCTAssertNil(HostHeader(malformed), malformed)
        }
    }

    func testOnlyLoopbackListenAddressesCountAsLoopback() {
        for host in ["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]", "0:0::1"] {
            var configuration = WebConfiguration()
            configuration.host = host
            XCTAssertTrue(configuration.listensOnLoopbackOnly, host)
        }
        for host in ["127.rebind.attacker.example", "127.0.0.1.nip.io", "0.0.0.0", "::", "192.168.1.2", "127.0.0.256"] {
            var configuration = WebConfiguration()
            configuration.host = host
            XCTAssertFalse(configuration.listensOnLoopbackOnly, host)
            XCTAssertThrowsError(try configuration.validate(), host)
        }
    }
}

// ofad's settings: the environment over the defaults, bad values named by key, the device.
import XCTest

@testable import OFAServer

final class DaemonConfigurationTests: XCTestCase {
    func testEnvironmentOverridesDefaultsAndBadValuesNameTheKey() throws {
        let configuration = try DaemonConfiguration.fromEnvironment([
            "OFAD_SOCKET": "/tmp/x.sock", "OFAD_QUEUE_LENGTH": "9", "OFAD_IMAGE_ROOTS": "/a:/b", "OFAD_DEVICE": "cpu",
        ])
        XCTAssertEqual(configuration.socketPath, "/tmp/x.sock")
        XCTAssertEqual(configuration.queueCapacity, 9)
        XCTAssertEqual(configuration.imageRoots, ["/a", "/b"])
        XCTAssertEqual(configuration.device, .cpu)
        XCTAssertThrowsError(try DaemonConfiguration.fromEnvironment(["OFAD_QUEUE_LENGTH": "lots"])) {
            XCTAssertEqual(
                $0 as? ConfigurationError, .invalid(key: "queue-length", why: "\"lots\" is not an integer ≥ 1"))
        }
    }

    func testTheImageCacheBoundIsBytesWithZeroTurningItOff() throws {
        XCTAssertEqual(DaemonConfiguration().imageCacheBytes, 256 << 20)
        XCTAssertEqual(try DaemonConfiguration.fromEnvironment(["OFAD_IMAGE_CACHE_BYTES": "0"]).imageCacheBytes, 0)
        var configuration = DaemonConfiguration()
        try configuration.set("image-cache-bytes", "1048576")
        XCTAssertEqual(configuration.imageCacheBytes, 1 << 20)
        XCTAssertThrowsError(try configuration.set("image-cache-bytes", "-1")) {
            XCTAssertEqual(
                $0 as? ConfigurationError, .invalid(key: "image-cache-bytes", why: "\"-1\" is not an integer ≥ 0"))
        }
    }

    func testCudaIsRefusedClearlyAndAutoMeansTheCPU() {
        XCTAssertEqual(try Device.auto.resolved(), .cpu)
        XCTAssertThrowsError(try Device.cuda.resolved()) { XCTAssertTrue("\($0)".contains("no GPU backend")) }
    }
}

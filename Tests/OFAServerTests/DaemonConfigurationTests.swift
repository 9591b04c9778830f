// ofad's settings: one table of options and variables; the command line over the environment over the defaults,
// bad values named by option and source, the device, and help that shows each variable and default.
import OFA
import ServiceSettings
import XCTest

@testable import OFAServer

final class DaemonConfigurationTests: XCTestCase {
    func testEnvironmentOverridesDefaultsAndTheCommandLineOverridesBoth() throws {
        let environment = [
            "OFAD_SOCKET": "/tmp/x.sock", "OFAD_QUEUE_LENGTH": "9", "OFAD_IMAGE_ROOTS": "/a:/b", "OFAD_DEVICE": "cpu",
            "OFAD_THREADS": "",
        ]
        let configuration = try DaemonConfiguration.resolve(environment: environment)
        XCTAssertEqual(configuration.socketPath, "/tmp/x.sock")
        XCTAssertEqual(configuration.queueCapacity, 9)
        XCTAssertEqual(configuration.imageRoots, ["/a", "/b"])
        XCTAssertEqual(configuration.device, .cpu)
        XCTAssertEqual(configuration.threads, 0, "an empty variable counts as unset")
        let overridden = try DaemonConfiguration.resolve(
            commandLine: ["queue-length": "3", "image-root": "/c"], environment: environment)
        XCTAssertEqual(overridden.queueCapacity, 3)
        XCTAssertEqual(overridden.imageRoots, ["/c"])
    }

    func testBadValuesNameTheOptionAndWhereTheValueCameFrom() {
        XCTAssertThrowsError(try DaemonConfiguration.resolve(environment: ["OFAD_QUEUE_LENGTH": "lots"])) {
            XCTAssertEqual("\($0)", "invalid --queue-length (from OFAD_QUEUE_LENGTH=lots): not a whole number ≥ 1")
        }
        XCTAssertThrowsError(try DaemonConfiguration.resolve(commandLine: ["log-level": "loud"], environment: [:])) {
            XCTAssertEqual("\($0)", "invalid --log-level \"loud\": not a log level")
        }
        XCTAssertThrowsError(try DaemonConfiguration.resolve(commandLine: ["device": "tpu"], environment: [:])) {
            XCTAssertEqual("\($0)", "invalid --device \"tpu\": not cpu, cuda, cuda:N or auto")
        }
    }

    func testTheImageCacheBoundIsBytesWithZeroTurningItOff() throws {
        XCTAssertEqual(DaemonConfiguration().imageCacheBytes, 256 << 20)
        XCTAssertEqual(try DaemonConfiguration.resolve(environment: ["OFAD_IMAGE_CACHE_BYTES": "0"]).imageCacheBytes, 0)
        XCTAssertEqual(
            try DaemonConfiguration.resolve(commandLine: ["image-cache-bytes": "1048576"], environment: [:])
                .imageCacheBytes, 1 << 20)
        XCTAssertThrowsError(
            try DaemonConfiguration.resolve(commandLine: ["image-cache-bytes": "-1"], environment: [:])
        ) { XCTAssertEqual("\($0)", "invalid --image-cache-bytes \"-1\": not a whole number ≥ 0") }
    }

    func testTheCloseCallMarginIsAFractionWithZeroTurningCloseCallsOff() throws {
        XCTAssertEqual(DaemonConfiguration().closeCallMargin, 0.1, accuracy: 1e-7)
        XCTAssertEqual(
            try DaemonConfiguration.resolve(environment: ["OFAD_CLOSE_CALL_MARGIN": "0"]).closeCallMargin, 0)
        XCTAssertEqual(
            try DaemonConfiguration.resolve(commandLine: ["close-call-margin": "0.25"], environment: [:])
                .closeCallMargin, 0.25)
        for bad in ["1.5", "-0.1", "nan", "some"] {
            XCTAssertThrowsError(
                try DaemonConfiguration.resolve(commandLine: ["close-call-margin": bad], environment: [:])
            ) { XCTAssertEqual("\($0)", "invalid --close-call-margin \"\(bad)\": not a number from 0 to 1") }
        }
    }

    func testCudaWithoutItsLibrariesIsRefusedNamingWhereItLookedAndAutoFallsBackToTheCPUSayingWhy() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("ofad-no-cuda-\(getpid())").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let search = CUDASearchPath(directories: [empty], systemSearch: false)
        XCTAssertThrowsError(try Device.cuda(0).resolved(search: search)) {
            XCTAssertEqual(
                "\($0)",
                "invalid --device cuda: CUDA driver library not found; searched \(empty)/libcuda.so.1"
                    + " (OFAD_CUDA_LIBRARY_PATH adds directories, searched first)")
        }
        let (device, reason) = try Device.auto.resolved(search: search)
        XCTAssertEqual(device, .cpu)
        XCTAssertEqual(
            reason,
            "no usable GPU: CUDA driver library not found; searched \(empty)/libcuda.so.1 (OFAD_CUDA_LIBRARY_PATH"
                + " adds directories, searched first); using the CPU")
        XCTAssertNil(try Device.cpu.resolved(search: search).reason)
        // The override comes from the command line or OFAD_CUDA_LIBRARY_PATH, its directories searched first.
        let configuration = try DaemonConfiguration.resolve(
            commandLine: ["device": "cuda"], environment: ["OFAD_CUDA_LIBRARY_PATH": "/opt/a::/opt/b"])
        XCTAssertEqual(configuration.cudaSearch.directories, ["/opt/a", "/opt/b"])
        XCTAssertEqual(
            configuration.cudaSearch.candidates(.driver).prefix(2), ["/opt/a/libcuda.so.1", "/opt/b/libcuda.so.1"])
    }

    func testDevicesAreCpuCudaCudaNOrAutoAndAnythingElseIsRefusedNamingThem() throws {
        for (text, device) in [
            ("cpu", Device.cpu), ("auto", .auto), ("cuda", .cuda(0)), ("cuda:0", .cuda(0)),
            ("cuda:3", .cuda(3)),
        ] {
            XCTAssertEqual(
                try DaemonConfiguration.resolve(commandLine: ["device": text], environment: [:]).device, device)
        }
        XCTAssertEqual(Device.cuda(3).rawValue, "cuda:3")
        XCTAssertEqual(Device.cuda(0).rawValue, "cuda")
        XCTAssertEqual(try DaemonConfiguration.resolve(environment: ["OFAD_DEVICE": "cuda:1"]).device, .cuda(1))
        for text in ["gpu", "cuda:", "cuda:-1", "cuda:01", "cuda:x", "cuda:1:2", "CUDA"] {
            XCTAssertThrowsError(try DaemonConfiguration.resolve(commandLine: ["device": text], environment: [:])) {
                XCTAssertEqual("\($0)", "invalid --device \"\(text)\": not cpu, cuda, cuda:N or auto")
            }
        }
    }

    func testAGPUWithLessMemoryThanTheWeightsAndARequestNeedIsRefusedSayingHowMuch() {
        XCTAssertNil(Device.lacksRoom(name: "NVIDIA H200", memoryBytes: 150 << 30, modelBytes: 1_959_637_038))
        XCTAssertNil(
            Device.lacksRoom(name: "any", memoryBytes: 1 << 30, modelBytes: 0), "an unknown size is not refused")
        XCTAssertEqual(
            Device.lacksRoom(name: "Small GPU", memoryBytes: 2 << 30, modelBytes: 1_959_637_038),
            "the GPU (Small GPU, 2.0 GiB) has too little memory for this model: its weights need about 1.8 GiB and "
                + "a request about 1.0 GiB more")
    }

    func testCompiledKernelsGoToTheSettingThenSystemdsCacheDirectoryThenTheUsersCache() throws {
        var configuration = DaemonConfiguration()
        XCTAssertEqual(
            configuration.kernelCacheDirectory(environment: ["CACHE_DIRECTORY": "/var/cache/ofad:/other", "HOME": "/h"]
            ),
            "/var/cache/ofad")
        XCTAssertEqual(
            configuration.kernelCacheDirectory(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]), "/x/ofad")
        XCTAssertEqual(configuration.kernelCacheDirectory(environment: ["HOME": "/h"]), "/h/.cache/ofad")
        XCTAssertNil(configuration.kernelCacheDirectory(environment: ["HOME": "relative"]))
        configuration = try DaemonConfiguration.resolve(environment: ["OFAD_CACHE_DIR": "/srv/kernels"])
        XCTAssertEqual(
            configuration.kernelCacheDirectory(environment: ["CACHE_DIRECTORY": "/var/cache/ofad"]), "/srv/kernels")
    }

    func testEveryOptionHasOneVariableAndItsHelpShowsItAndTheDefault() {
        let settings = DaemonConfiguration.settings.settings
        XCTAssertEqual(Set(settings.map(\.name)).count, settings.count)
        XCTAssertEqual(Set(settings.map(\.environment)).count, settings.count)
        XCTAssertTrue(settings.allSatisfy { $0.environment.hasPrefix("OFAD_") })
        XCTAssertEqual(
            DaemonConfiguration.settings.help("request-timeout"),
            "Seconds before a request is answered timed out. [OFAD_REQUEST_TIMEOUT; 60]")
        XCTAssertEqual(
            DaemonConfiguration.settings.help("max-text-length").hasSuffix("[OFAD_MAX_TEXT_LENGTH; 65536]"), true)
        XCTAssertEqual(DaemonConfiguration.settings.help("image-root").hasSuffix("[OFAD_IMAGE_ROOTS; none]"), true)
    }
}

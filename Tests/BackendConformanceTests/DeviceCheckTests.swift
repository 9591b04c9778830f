// The device check's own logic, where CI can run it: its parity step on the CUDA backend over HostQueue against the
// committed goldens, the synthetic checkpoint's key table and values, and the report a machine without CUDA gets.
import FixtureSupport
import Foundation
import OFA
import XCTest

@testable import BackendConformance

final class DeviceCheckTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
        .standardized.path

    func testTheParityStepPassesTheCUDABackendOnTheHostAgainstTheGoldens() throws {
        let queue: HostQueue
        do { queue = try HostQueue() } catch let error as HostQueue.Unavailable { throw XCTSkip(error.description) }
        let check = DeviceCheck(search: CUDASearchPath(), root: root, scratch: NSTemporaryDirectory())
        for model in ["tiny-a", "tiny-b"] {
            let result = try check.parity(model: model, backend: try CUDABackend(queue: queue, precision: .float32))
            XCTAssertTrue(result.passed, "\(result)")
            XCTAssertEqual(result.cases, 2)
            XCTAssertLessThan(result.probabilityError, 1e-5)
        }
    }

    /// Two models at once on a two-lane backend, as the daemon's two workers run: both pass.
    func testTheSideBySideParityStepPassesOnTwoLanes() throws {
        let queues: [HostQueue]
        do { queues = [try HostQueue(), try HostQueue()] } catch let error as HostQueue.Unavailable {
            throw XCTSkip(error.description)
        }
        let check = DeviceCheck(search: CUDASearchPath(), root: root, scratch: NSTemporaryDirectory())
        let results = try check.sideBySide(
            ["tiny-a", "tiny-b"], backend: try CUDABackend(queues: queues, precision: .float32))
        XCTAssertEqual(results.map(\.passed), [true, true], "\(results)")
        XCTAssertEqual(results.map(\.model), ["tiny-a (stream 1 of 2, at once)", "tiny-b (stream 2 of 2, at once)"])
        for queue in queues { XCTAssertGreaterThan(queue.products, 0, "a lane ran nothing") }
    }

    func testTheSyntheticCheckpointCoversEveryFloatTensorOfOFALargeWithSaneDeterministicValues() throws {
        let table = try String(contentsOfFile: root + "/Tools/device/ofa-large-keys.tsv", encoding: .utf8)
        let tensors = try SyntheticCheckpoint.floatTensors(table: table)
        XCTAssertEqual(tensors.count, 1475)
        XCTAssertEqual(Set(tensors.map(\.0)).count, tensors.count)
        let embedding = try XCTUnwrap(tensors.first { $0.0 == "encoder.embed_tokens.weight" })
        XCTAssertEqual(embedding.1, [59457, 1024])
        let first = SyntheticCheckpoint.values(name: "x.running_var", shape: [1000], seed: 7)
        XCTAssertEqual(first, SyntheticCheckpoint.values(name: "x.running_var", shape: [1000], seed: 7))
        XCTAssertNotEqual(first, SyntheticCheckpoint.values(name: "x.running_var", shape: [1000], seed: 8))
        XCTAssertTrue(first.allSatisfy { $0 >= 0.8 && $0 <= 1.2 })
        let convolution = SyntheticCheckpoint.values(name: "c.weight", shape: [64, 3, 7, 7], seed: 1)
        let bound = (6 / Float(3 * 7 * 7)).squareRoot()
        XCTAssertTrue(convolution.allSatisfy { abs($0) <= bound })
        XCTAssertGreaterThan(convolution.map(abs).max()!, bound * 0.99)
        XCTAssertTrue(
            SyntheticCheckpoint.values(name: "encoder.embed_images.layer3.4.bn3.weight", shape: [1024], seed: 1)
                .allSatisfy { $0 >= 0 && $0 <= 0.25 })
    }

    func testAMachineWithoutCUDAGetsAReportNamingWhatIsMissingAndNoOtherStep() throws {
        var check = DeviceCheck(
            search: CUDASearchPath(directories: ["/nonexistent"], systemSearch: false), root: root,
            scratch: NSTemporaryDirectory())
        check.runs = 1
        var saved = 0
        let report = check.run(log: { _ in }, save: { _ in saved += 1 })
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report.errors.count, 1)
        XCTAssertTrue(report.errors[0].hasPrefix("probe: CUDA driver library not found"), report.errors[0])
        XCTAssertEqual(saved, 1)
        XCTAssertNil(report.probe)
    }
}

/// The device check's OFA-large comparison run here on the CUDA backend over HostQueue: the seeded checkpoint's
/// figures against the CPU engine's committed ones, and the conformance suite at OFA-large's shapes. Gated (a 2.4 GB
/// checkpoint, minutes): OFA_SYNTHETIC_SCRATCH=DIR writes the checkpoint under DIR when it is not there yet.
final class CUDABackendOnTheHostLargeTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
        .standardized.path

    func backend() throws -> CUDABackend {
        do { return try CUDABackend(queue: try HostQueue(), precision: .float32) } catch let error
            as HostQueue.Unavailable
        { throw XCTSkip(error.description) }
    }

    func testTheSyntheticOFALargeCheckpointGivesTheCPUEnginesFigures() throws {
        guard let scratch = ProcessInfo.processInfo.environment["OFA_SYNTHETIC_SCRATCH"] else {
            throw XCTSkip("OFA_SYNTHETIC_SCRATCH not set (a 2.4 GB checkpoint is written there)")
        }
        let check = DeviceCheck(search: CUDASearchPath(), root: root, scratch: scratch)
        if !FileManager.default.fileExists(atPath: check.syntheticDirectory + "/model.safetensors") {
            try check.writeSynthetic()
        }
        let backend = try backend()
        let (parity, timing) = try check.synthetic(backend: backend)
        print(
            "synthetic OFA-large on the CUDA backend over HostQueue: \(parity), one query \(timing.medianMilliseconds) ms, "
                + "weights \(timing.weightBytes) bytes in an arena of \(timing.weightArenaBytes)")
        XCTAssertTrue(parity.passed, "\(parity)")
        // The weights in a few blocks, the last one partly used.
        XCTAssertGreaterThan(timing.weightBytes, 1_800_000_000)
        XCTAssertLessThanOrEqual(timing.weightArenaBytes - timing.weightBytes, WeightArena.blockBytes)
        XCTAssertNil(backend.takeFailure())
    }

    func testEveryOperationMatchesFloat64AtOFALargeShapes() throws {
        guard ProcessInfo.processInfo.environment["OFA_SYNTHETIC_SCRATCH"] != nil else {
            throw XCTSkip("OFA_SYNTHETIC_SCRATCH not set (the large host run takes minutes)")
        }
        let backend = try backend()
        for result in BackendConformance(backend: backend).run(.large) {
            XCTAssertTrue(
                result.passed, "cuda-on-host large \(result.operation): \(result.error) > \(result.tolerance)")
        }
        XCTAssertNil(backend.takeFailure())
    }
}

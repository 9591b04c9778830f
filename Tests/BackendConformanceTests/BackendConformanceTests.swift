// The backend conformance suite on CPUBackend: every Backend operation against float64, at small sizes and at
// OFA-large's shapes, in every precision this CPU offers; the same suite the device check runs on the CUDA backend.
import FixtureSupport
import Foundation
import OFA
import XCTest

@testable import BackendConformance

final class BackendConformanceTests: XCTestCase {
    func check(_ backend: Backend, _ size: ConformanceSize) -> [ConformanceResult] {
        let results = BackendConformance(backend: backend).run(size)
        for result in results {
            print(
                "conformance \(backend.precision.rawValue) \(size) \(result.operation): \(result.checked) compared, "
                    + "error \(result.error) (tolerance \(result.tolerance))")
            XCTAssertTrue(
                result.passed,
                "\(backend.precision.rawValue) \(size) \(result.operation): error \(result.error) > \(result.tolerance)"
            )
            XCTAssertGreaterThan(result.checked, 0, result.operation)
        }
        return results
    }

    func testEveryOperationMatchesFloat64AtSmallSizes() {
        let results = check(CPUBackend(threads: 2), .small)
        XCTAssertTrue(results.allSatisfy { $0.size == .small })
    }

    func testEveryOperationMatchesFloat64AtOFALargeShapes() {
        _ = check(CPUBackend(threads: 2), .large)
    }

    func testBFloat16StaysWithinItsTolerancesWhereTheCPUOffersIt() throws {
        guard CPUBackend.offeredPrecisions.contains(.bfloat16) else {
            throw XCTSkip("this CPU offers no bf16 (\(CPUBackend.instructionSet))")
        }
        _ = check(try CPUBackend(threads: 2, precision: .bfloat16), .small)
    }

    /// Every requirement of the Backend protocol is exercised by a check named after it (the weight preparations
    /// through the operations that read what they prepare).
    func testEveryBackendOperationHasACheck() throws {
        let source = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../Sources/OFA/Backend/Backend.swift"), encoding: .utf8)
        let start = try XCTUnwrap(source.range(of: "public protocol Backend"))
        let end = try XCTUnwrap(source.range(of: "\n}\n", range: start.upperBound..<source.endIndex))
        let protocolText = source[start.upperBound..<end.lowerBound]
        let requirements = Set(
            protocolText.components(separatedBy: "func ").dropFirst().map {
                String($0.prefix { $0.isLetter || $0.isNumber })
            })
        XCTAssertGreaterThan(requirements.count, 30)
        let through = ["prepareProductWeight": "linear", "prepareConvolutionWeight": "convolution"]
        let names = BackendConformance(backend: CPUBackend(threads: 1)).run(.small).map(\.operation)
        for requirement in requirements.sorted() {
            let name = through[requirement] ?? requirement
            XCTAssertTrue(
                names.contains {
                    $0.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == name }
                },
                "no check exercises \(requirement)")
        }
    }

    /// The comparison fails what it should: an error past the tolerance, a NaN where none belongs or none where one
    /// does, an infinity.
    func testTheComparisonCatchesErrorsNaNsAndInfinities() {
        var context = ConformanceContext(backend: CPUBackend(threads: 1), size: .small, shapes: .small)
        let expected: [Double] = [1, 2, -3, .nan]
        context.compareValues("exact", [1, 2, -3, .nan], columns: 2, tolerance: 0) {
            Array(expected[($0 * 2)..<($0 * 2 + 2)])
        }
        context.compareValues("off", [1, 2.001, -3, .nan], columns: 2, tolerance: 1e-4) {
            Array(expected[($0 * 2)..<($0 * 2 + 2)])
        }
        context.compareValues("a NaN too many", [.nan, 2, -3, .nan], columns: 2, tolerance: 1) {
            Array(expected[($0 * 2)..<($0 * 2 + 2)])
        }
        context.compareValues("a NaN missing", [1, 2, -3, 4], columns: 2, tolerance: 1) {
            Array(expected[($0 * 2)..<($0 * 2 + 2)])
        }
        context.compareValues("an infinity", [1, .infinity, -3, .nan], columns: 2, tolerance: 1) {
            Array(expected[($0 * 2)..<($0 * 2 + 2)])
        }
        XCTAssertEqual(context.results.map(\.passed), [true, false, false, false, false])
        XCTAssertEqual(context.results[0].checked, 4)
        XCTAssertEqual(context.results[1].error, 0.0005, accuracy: 1e-6, "|Δ| / max(|2|, 1)")
    }

    /// Large outputs are compared on whole rows spread from the first to the last.
    func testSampledRowsIncludeTheFirstAndLastAndStayWithinTheBudget() {
        XCTAssertEqual(ConformanceContext.sampledRows(5, columns: 10), [0, 1, 2, 3, 4])
        let rows = ConformanceContext.sampledRows(914, columns: 1024)
        XCTAssertEqual(rows.first, 0)
        XCTAssertEqual(rows.last, 913)
        XCTAssertEqual(rows.count, 8)
        XCTAssertEqual(Set(rows).count, rows.count)
        XCTAssertEqual(ConformanceContext.sampledRows(1, columns: 59457), [0])
    }
}

/// The CUDA backend's every call run on the host (HostQueue: its kernels compiled as C++, cuBLAS's column-major
/// product in float64), through the same conformance suite: what the device check then runs on a GPU.
final class CUDABackendOnTheHostTests: XCTestCase {
    func backend(_ precision: Precision = .float32) throws -> (CUDABackend, HostQueue) {
        let queue: HostQueue
        do { queue = try HostQueue() } catch let error as HostQueue.Unavailable { throw XCTSkip(error.description) }
        return (try CUDABackend(queue: queue, precision: precision), queue)
    }

    func testEveryOperationMatchesFloat64AtSmallSizes() throws {
        let (backend, queue) = try backend()
        let results = BackendConformance(backend: backend).run(.small)
        for result in results {
            XCTAssertTrue(
                result.passed, "cuda-on-host \(result.operation): error \(result.error) > \(result.tolerance)")
        }
        XCTAssertNil(backend.takeFailure())
        XCTAssertGreaterThan(queue.products, 20)
        // Every kernel ran at least once.
        for kernel in CUDAKernels.entryPoints { XCTAssertNotNil(queue.launches[kernel], "\(kernel) never launched") }
    }

    func testCPUPrecisionsAreRefusedWithWhatTheGPUOffers() throws {
        XCTAssertThrowsError(try backend(.bfloat16)) { error in
            XCTAssertTrue("\(error)".contains("fp32, tf32"), "\(error)")
        }
    }
}

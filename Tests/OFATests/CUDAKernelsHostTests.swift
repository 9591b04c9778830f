// The CUDA kernels run on the host (HostQueue: the source compiled as C++, launched thread by thread through
// cuLaunchKernel's argument arrays): KernelConformance's checks, which the device check runs on the GPU too.
// Skips loudly without clang++.
import BackendConformance
import FixtureSupport
import Foundation
import XCTest

@testable import OFA

final class CUDAKernelsHostTests: XCTestCase {
    func queue() throws -> HostQueue {
        do { return try HostQueue() } catch let error as HostQueue.Unavailable { throw XCTSkip(error.description) }
    }

    func testEveryKernelGivesTheCPUBackendsResultsOnTheHostAndWritesNothingPastTheEnd() throws {
        let results = try KernelConformance(queue: try queue()).run()
        XCTAssertGreaterThan(results.count, 30)
        for result in results {
            XCTAssertTrue(result.passed, "\(result.operation): error \(result.error) > \(result.tolerance)")
        }
    }

    func testEveryKernelHasAHostWrapperWithItsParameterTypes() {
        let kernels = HostQueue.kernels(in: CUDAKernels.source)
        XCTAssertEqual(kernels.map(\.name).sorted(), CUDAKernels.entryPoints.sorted())
        let add = kernels.first { $0.name == "ofa_add" }
        XCTAssertEqual(add?.types, ["float *", "const float *", "const float *", "long"])
        XCTAssertTrue(
            HostQueue.wrappers(for: CUDAKernels.source).contains(
                "extern \"C\" void ofa_host_ofa_scale(void **p) { ofa_scale(*(float * *)p[0], *(float *)p[1], "
                    + "*(long *)p[2]); }"))
    }

    /// cuLaunchKernel's array: one pointer per argument, to its bytes at its C size.
    func testKernelArgumentsAreLaidOutAsCuLaunchKernelReadsThem() {
        KernelArgument.withParameters([.address(0x1234_5678_9abc), .int(-7), .long(1 << 40), .float(1.5), .null]) {
            XCTAssertEqual($0[0]!.load(as: UInt64.self), 0x1234_5678_9abc)
            XCTAssertEqual($0[1]!.load(as: Int32.self), -7)
            XCTAssertEqual($0[2]!.load(as: Int64.self), 1 << 40)
            XCTAssertEqual($0[3]!.load(as: Float.self), 1.5)
            XCTAssertEqual($0[4]!.load(as: UInt64.self), 0)
        }
    }

    /// A row-major product as cuBLAS's column-major call: cᵀ = op(b)ᵀ · op(a)ᵀ, operands and sizes swapped.
    func testARowMajorProductBecomesCuBLASsColumnMajorCall() {
        let product = ColumnMajorProduct.rowMajor(
            m: 2, n: 3, k: 4, a: 100, lda: 4, transposingA: true, b: 200, ldb: 3, c: 300, ldc: 3, batch: 5,
            strideA: 8, strideB: 12, strideC: 6)
        XCTAssertEqual(
            product,
            ColumnMajorProduct(
                transposingA: false, transposingB: true, m: 3, n: 2, k: 4, alpha: 1, a: 200, lda: 3, strideA: 12,
                b: 100, ldb: 4, strideB: 8, beta: 0, c: 300, ldc: 3, strideC: 6, batch: 5))
    }
}

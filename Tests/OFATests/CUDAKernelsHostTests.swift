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

    /// HostQueue's two product paths (the C definition for small products, packed copies through the CPU backend
    /// above `referenceLimit`) both follow cublasSgemmStridedBatched's column-major definition.
    func testHostProductsFollowCuBLASsDefinitionOnBothPaths() throws {
        let queue = try queue()
        for (m, n, k) in [(5, 7, 9), (64, 80, 1024)] {
            for (transposingA, transposingB) in [(false, false), (true, false), (false, true), (true, true)] {
                let batch = 2
                let (lda, ldb, ldc) = ((transposingA ? k : m) + 3, (transposingB ? n : k) + 1, m + 2)
                let (strideA, strideB, strideC) = (lda * (transposingA ? m : k), ldb * (transposingB ? k : n), ldc * n)
                let a = (0..<(strideA * batch)).map { Float(sin(Double($0) * 0.37)) }
                let b = (0..<(strideB * batch)).map { Float(cos(Double($0) * 0.11)) }
                let c = (0..<(strideC * batch)).map { Float($0 % 5) }
                let (ta, tb, tc) = (try queue.upload(a), try queue.upload(b), try queue.upload(c))
                try queue.multiply(
                    ColumnMajorProduct(
                        transposingA: transposingA, transposingB: transposingB, m: m, n: n, k: k, alpha: 0.5, a: ta,
                        lda: lda, strideA: strideA, b: tb, ldb: ldb, strideB: strideB, beta: 2, c: tc, ldc: ldc,
                        strideC: strideC, batch: batch))
                let got = try queue.download(tc, count: c.count)
                var worst = 0.0
                for e in 0..<batch {
                    for j in 0..<n {
                        for i in 0..<m {
                            var sum = 0.0
                            for l in 0..<k {
                                let x = transposingA ? a[e * strideA + l + i * lda] : a[e * strideA + i + l * lda]
                                let y = transposingB ? b[e * strideB + j + l * ldb] : b[e * strideB + l + j * ldb]
                                sum += Double(x) * Double(y)
                            }
                            let index = e * strideC + i + j * ldc
                            worst = max(worst, abs(Double(got[index]) - (0.5 * sum + 2 * Double(c[index]))))
                        }
                    }
                }
                XCTAssertLessThan(worst, 1e-3, "\(m)×\(n)×\(k) \(transposingA) \(transposingB)")
                for address in [ta, tb, tc] { queue.release(address) }
            }
        }
        XCTAssertGreaterThan(64 * 80 * 1024, HostQueue.referenceLimit, "the second size takes the packed path")
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

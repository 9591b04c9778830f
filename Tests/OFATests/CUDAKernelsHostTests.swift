// The CUDA kernels run on the host: the source compiled as C++ through a small shim (CUDA's thread indices as globals
// set before each call, one call per thread), with a wrapper per kernel that takes cuLaunchKernel's `void **`
// argument array, so the host launches go through the same argument marshalling (KernelArgument) as the GPU's.
// The row kernels' maths is in `__host__ __device__` helpers whose lane reductions are one lane here, so a host
// "thread" computes a whole row through the same code. KernelConformance's checks, which the device check also runs
// on the GPU. Needs clang++ (the Swift toolchain's); skips loudly without it.
import BackendConformance
import Foundation
import XCTest

@testable import OFA

/// Kernels compiled for the host, memory from malloc, addresses as the GPU's are.
final class HostKernelLauncher: KernelLauncher {
    static let shim = """
        #include <math.h>
        #include <string.h>
        struct ofa_dimension { unsigned x, y, z; };
        extern "C" { ofa_dimension blockIdx, threadIdx, blockDim; }
        #define __global__
        #define __device__
        #define __host__
        #define __forceinline__ inline
        static inline float __int_as_float(unsigned bits) { float value; memcpy(&value, &bits, 4); return value; }
        extern "C" void ofa_host_index(unsigned block, unsigned thread, unsigned threads) {
            blockIdx.x = block; threadIdx.x = thread; blockDim.x = threads;
        }
        """

    /// Each kernel's name and parameter types, read from the source.
    static func kernels(in source: String) -> [(name: String, types: [String])] {
        source.components(separatedBy: "extern \"C\" __global__ void ").dropFirst().map { text in
            let name = String(text.prefix { $0 != "(" })
            let parameters = text.drop { $0 != "(" }.dropFirst().prefix { $0 != ")" }
            let types = parameters.split(separator: ",").map { parameter in
                let trimmed = parameter.trimmingCharacters(in: .whitespacesAndNewlines)
                let type = trimmed.reversed().drop { $0.isLetter || $0.isNumber || $0 == "_" }.reversed()
                return String(type).trimmingCharacters(in: .whitespaces)
            }
            return (name, types)
        }
    }

    /// `extern "C" void ofa_host_NAME(void **p)`: the kernel called with its arguments read from cuLaunchKernel's
    /// array.
    static func wrappers(for source: String) -> String {
        kernels(in: source).map { kernel in
            let arguments = kernel.types.enumerated().map { "*(\($0.element) *)p[\($0.offset)]" }
            return
                "extern \"C\" void ofa_host_\(kernel.name)(void **p) { \(kernel.name)(\(arguments.joined(separator: ", "))); }"
        }.joined(separator: "\n")
    }

    let rowLanes = 1
    private let library: UnsafeMutableRawPointer
    private let index: @convention(c) (UInt32, UInt32, UInt32) -> Void

    init() throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        guard
            let compiler = (path.split(separator: ":").map { "\($0)/clang++" } + ["/opt/swift/usr/bin/clang++"])
                .first(where: FileManager.default.isExecutableFile)
        else { throw XCTSkip("no clang++ to compile the CUDA kernels for the host") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ofad-kernels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try HostKernelLauncher.shim.write(
            to: folder.appendingPathComponent("shim.h"), atomically: true, encoding: .utf8)
        try (CUDAKernels.source + "\n" + HostKernelLauncher.wrappers(for: CUDAKernels.source)).write(
            to: folder.appendingPathComponent("kernels.cu"), atomically: true, encoding: .utf8)
        let output = folder.appendingPathComponent("kernels.so").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: compiler)
        process.arguments = [
            "-std=c++17", "-O1", "-shared", "-fPIC", "-include", folder.appendingPathComponent("shim.h").path,
            "-x", "c++", folder.appendingPathComponent("kernels.cu").path, "-o", output,
        ]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "clang++ on the kernels")
        library = try XCTUnwrap(dlopen(output, RTLD_NOW | RTLD_LOCAL), String(cString: dlerror()))
        index = unsafeBitCast(
            try XCTUnwrap(dlsym(library, "ofa_host_index")), to: (@convention(c) (UInt32, UInt32, UInt32) -> Void).self)
    }

    deinit { dlclose(library) }

    func upload(_ values: [Float]) throws -> UInt64 { copy(values) }
    func upload(_ values: [Int32]) throws -> UInt64 { copy(values) }

    private func copy<T>(_ values: [T]) -> UInt64 {
        let bytes = values.count * MemoryLayout<T>.stride
        let address = malloc(max(bytes, 1))!
        values.withUnsafeBytes { address.copyMemory(from: $0.baseAddress!, byteCount: bytes) }
        return UInt64(UInt(bitPattern: address))
    }

    func download(_ address: UInt64, count: Int) throws -> [Float] {
        Array(UnsafeBufferPointer(start: UnsafePointer<Float>(bitPattern: UInt(address)), count: count))
    }

    func release(_ address: UInt64) { free(UnsafeMutableRawPointer(bitPattern: UInt(address))) }

    func launch(_ kernel: String, blocks: Int, threads: Int, _ arguments: [KernelArgument]) throws {
        typealias Wrapper = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Void
        let wrapper = unsafeBitCast(try XCTUnwrap(dlsym(library, "ofa_host_\(kernel)"), kernel), to: Wrapper.self)
        KernelArgument.withParameters(arguments) { parameters in
            for block in 0..<blocks {
                for thread in 0..<threads {
                    index(UInt32(block), UInt32(thread), UInt32(threads))
                    wrapper(parameters)
                }
            }
        }
    }
}

final class CUDAKernelsHostTests: XCTestCase {
    func testEveryKernelGivesTheCPUBackendsResultsOnTheHostAndWritesNothingPastTheEnd() throws {
        let results = try KernelConformance(launcher: try HostKernelLauncher()).run()
        XCTAssertGreaterThan(results.count, 30)
        for result in results {
            XCTAssertTrue(result.passed, "\(result.operation): error \(result.error) > \(result.tolerance)")
        }
        // Every kernel is checked.
        for kernel in CUDAKernels.entryPoints {
            XCTAssertTrue(results.contains { $0.operation.hasPrefix(kernel) }, "\(kernel) unchecked")
        }
    }

    func testEveryKernelHasAHostWrapperWithItsParameterTypes() {
        let kernels = HostKernelLauncher.kernels(in: CUDAKernels.source)
        XCTAssertEqual(kernels.map(\.name).sorted(), CUDAKernels.entryPoints.sorted())
        let add = kernels.first { $0.name == "ofa_add" }
        XCTAssertEqual(add?.types, ["float *", "const float *", "const float *", "long"])
        XCTAssertTrue(
            HostKernelLauncher.wrappers(for: CUDAKernels.source).contains(
                "extern \"C\" void ofa_host_ofa_scale(void **p) { ofa_scale(*(float * *)p[0], *(float *)p[1], *(long *)p[2]); }"
            ))
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
}

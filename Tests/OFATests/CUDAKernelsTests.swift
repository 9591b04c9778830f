// The CUDA backend's kernels compile with NVRTC, which needs no GPU: for every architecture CI checks, with every
// entry point there and nothing in local memory (no stack frame, no spills), and a compile error comes back with
// NVRTC's log. Needs OFA_NVRTC_TEST_PATH, a directory holding libnvrtc (.ci/run fetches PyPI's nvidia-cuda-nvrtc
// into .build-nvrtc); skips loudly without it. ptxas's report is read per entry function.
import XCTest

@testable import OFA

final class CUDAKernelsTests: XCTestCase {
    func compiler() throws -> CUDACompiler {
        guard let directory = ProcessInfo.processInfo.environment["OFA_NVRTC_TEST_PATH"] else {
            throw XCTSkip("OFA_NVRTC_TEST_PATH not set: no NVRTC to compile the CUDA kernels with (.ci/fetch-nvrtc)")
        }
        let compiler = try CUDACompiler(search: CUDASearchPath(directories: [directory], systemSearch: false))
        XCTAssertTrue(compiler.path.hasPrefix(directory), compiler.path)
        return compiler
    }

    func testTheKernelsCompileForEveryCheckedArchitectureWithEveryEntryPointAndNoLocalMemory() throws {
        let compiler = try compiler()
        for architecture in CUDAKernels.checkedArchitectures {
            let compiled = try compiler.compile(
                CUDAKernels.source, name: CUDAKernels.fileName, architecture: architecture)
            XCTAssertEqual(Array(compiled.cubin.prefix(4)), [0x7f, 0x45, 0x4c, 0x46], "a CUBIN is an ELF file")
            XCTAssertEqual(compiled.entries.map(\.name).sorted(), CUDAKernels.entryPoints.sorted(), architecture)
            for entry in compiled.entries {
                XCTAssertEqual(entry.stackBytes, 0, "\(architecture) \(entry.name) stack frame")
                XCTAssertEqual(entry.spillStores + entry.spillLoads, 0, "\(architecture) \(entry.name) spills")
                XCTAssertGreaterThan(entry.registers, 0, "\(architecture) \(entry.name)")
            }
        }
    }

    func testACompileErrorComesBackWithNVRTCsLog() throws {
        let compiler = try compiler()
        XCTAssertThrowsError(
            try compiler.compile("extern \"C\" __global__ void broken( { }", name: "broken.cu", architecture: "sm_80")
        ) {
            guard case .compilationFailed("sm_80", _, let log)? = $0 as? CUDAUnavailable else {
                return XCTFail("\($0)")
            }
            XCTAssertTrue(log.contains("broken.cu"), log)
        }
    }

    func testPtxasReportsAreReadPerEntryFunction() {
        let log = """
            ptxas info    : 0 bytes gmem
            ptxas info    : Compiling entry function 'first' for 'sm_75'
            ptxas info    : Function properties for first
            ptxas         .     256 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads
            ptxas info    : Used 64 registers, used 0 barriers, 256 bytes cumulative stack size, 360 bytes cmem[0]
            ptxas info    : Compiling entry function 'second' for 'sm_75'
            ptxas info    : Function properties for second
            ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
            ptxas info    : Used 10 registers, used 1 barriers, 360 bytes cmem[0]
            """
        XCTAssertEqual(
            CUDACompilation.entries(log: log),
            [
                CUDAEntryReport(name: "first", registers: 64, stackBytes: 256, spillStores: 8, spillLoads: 4),
                CUDAEntryReport(name: "second", registers: 10, stackBytes: 0, spillStores: 0, spillLoads: 0),
            ])
    }

    func testACompilationIsKeptOnDiskForTheNextStartAndABrokenFileIsCompiledAgain() throws {
        let compiler = try compiler()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ofad-cubins-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let cache = KernelCache(directory: folder.path)
        let path = cache.path(source: CUDAKernels.source, architecture: "sm_80", version: compiler.version)
        let first = try cache.compilation(
            CUDAKernels.source, name: CUDAKernels.fileName, architecture: "sm_80", compiler: compiler)
        XCTAssertEqual(compiler.compilations, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        let again = try cache.compilation(
            CUDAKernels.source, name: CUDAKernels.fileName, architecture: "sm_80", compiler: compiler)
        XCTAssertEqual(compiler.compilations, 1, "read from the cache, not compiled")
        XCTAssertEqual(again.cubin, first.cubin)
        XCTAssertEqual(again.entries, first.entries)
        // Another architecture or source is another file.
        XCTAssertNotEqual(
            cache.path(source: CUDAKernels.source, architecture: "sm_90", version: compiler.version), path)
        XCTAssertNotEqual(cache.path(source: CUDAKernels.source + " ", architecture: "sm_80", version: "13.5"), path)
        try Data("not a cubin".utf8).write(to: URL(fileURLWithPath: path))
        let rebuilt = try cache.compilation(
            CUDAKernels.source, name: CUDAKernels.fileName, architecture: "sm_80", compiler: compiler)
        XCTAssertEqual(compiler.compilations, 2, "a broken file is compiled again")
        XCTAssertEqual(rebuilt.cubin, first.cubin)
        XCTAssertEqual(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))), first.cubin, "and replaced")
    }
}

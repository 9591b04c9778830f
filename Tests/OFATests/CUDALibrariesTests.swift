// CUDA's libraries are found and checked at run time, with no CUDA on the build machine: each family's candidates in
// order (the override's directories first), a search that finds nothing names every place it looked, a file that is
// no library is reported with the loader's reason, and a library without an entry point ofad calls is refused by
// that entry point's name.
import XCTest

@testable import OFA

final class CUDALibrariesTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ofad-cuda-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try FileManager.default.removeItem(atPath: folder) }

    func testEachFamilyIsLookedForInTheOverrideFirstThenByTheDynamicLinkerThenInTheToolkitNewestFirst() {
        let search = CUDASearchPath(directories: ["/opt/a", "/opt/b/"])
        XCTAssertEqual(
            search.candidates(.driver),
            [
                "/opt/a/libcuda.so.1", "/opt/b/libcuda.so.1", "libcuda.so.1", "/usr/local/cuda/lib64/libcuda.so.1",
                "/usr/local/cuda/targets/x86_64-linux/lib/libcuda.so.1",
            ])
        XCTAssertEqual(
            Array(search.candidates(.blas).prefix(7)),
            [
                "/opt/a/libcublas.so.13", "/opt/a/libcublas.so.12", "/opt/a/libcublas.so.11",
                "/opt/b/libcublas.so.13", "/opt/b/libcublas.so.12", "/opt/b/libcublas.so.11", "libcublas.so.13",
            ])
        XCTAssertEqual(
            CUDASearchPath(directories: ["/x"], systemSearch: false).candidates(.nvrtc),
            ["/x/libnvrtc.so.13", "/x/libnvrtc.so.12", "/x/libnvrtc.so.11.2"])
        XCTAssertEqual(
            CUDASearchPath(environment: ["OFAD_CUDA_LIBRARY_PATH": "/p/nvidia/cu13/lib:"]).directories,
            ["/p/nvidia/cu13/lib"])
        XCTAssertEqual(CUDASearchPath(environment: [:]), CUDASearchPath())
    }

    func testASearchThatFindsNothingNamesEveryPlaceItLooked() {
        let search = CUDASearchPath(directories: [folder], systemSearch: false)
        for library in CUDALibrary.allCases {
            XCTAssertThrowsError(try CUDALibraries.open(library, search: search)) {
                XCTAssertEqual(
                    $0 as? CUDAUnavailable,
                    .libraryNotFound(library, searched: search.candidates(library), failures: []))
            }
        }
        XCTAssertThrowsError(try CUDALibraries(search: search)) {
            XCTAssertEqual(
                "\($0)",
                "CUDA driver library not found; searched \(folder)/libcuda.so.1 (OFAD_CUDA_LIBRARY_PATH adds "
                    + "directories, searched first)")
        }
    }

    func testAFileThatIsNoLibraryIsReportedWithTheLoadersReason() throws {
        try Data("not a library".utf8).write(to: URL(fileURLWithPath: folder + "/libcuda.so.1"))
        XCTAssertThrowsError(try CUDALibraries(search: CUDASearchPath(directories: [folder], systemSearch: false))) {
            guard case .libraryNotFound(.driver, _, let failures)? = $0 as? CUDAUnavailable else {
                return XCTFail("\($0)")
            }
            XCTAssertEqual(failures.count, 1)
            XCTAssertTrue(failures[0].contains(self.folder + "/libcuda.so.1"), failures[0])
        }
    }

    func testALibraryWithoutAnEntryPointOfadCallsIsRefusedByItsName() throws {
        // The C math library stands in for each CUDA library: it loads, and has none of their entry points.
        guard
            let math = ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6"]
                .first(where: FileManager.default.fileExists)
        else { throw XCTSkip("no libm.so.6 in the usual places") }
        for (library, symbol) in [
            (CUDALibrary.driver, "cuInit"), (.blas, "cublasGetProperty"), (.nvrtc, "nvrtcVersion"),
        ] {
            let link = folder + "/" + library.fileNames[0]
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: math)
            let search = CUDASearchPath(directories: [folder], systemSearch: false)
            let opened = try CUDALibraries.open(library, search: search)
            defer { CUDALibraries.close(opened) }
            XCTAssertThrowsError(try CUDALibraries.resolve(library, opened, CUDALibraries.resolver(library))) {
                guard case .missingSymbol(library, let path, symbol)? = $0 as? CUDAUnavailable else {
                    return XCTFail("\($0)")
                }
                XCTAssertTrue(path.hasSuffix(library.fileNames[0]) || path == math, path)
            }
        }
        XCTAssertThrowsError(try CUDALibraries(search: CUDASearchPath(directories: [folder], systemSearch: false))) {
            XCTAssertTrue("\($0)".hasSuffix("has no cuInit (too old, or not that library)"), "\($0)")
        }
    }
}

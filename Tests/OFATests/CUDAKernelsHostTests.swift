// The CUDA kernels' index arithmetic, run on the host: the kernels without shared memory or warp shuffles are
// compiled as C++ through a small shim (CUDA's thread indices as globals the test sets, one call per thread), then
// checked against CPUBackend and the bucket bias's definition on OFA-shaped sizes. Needs clang++ (the Swift
// toolchain's); skips loudly without it. The row kernels (LayerNorm, softmax) cooperate within a block and are not
// run here.
import Foundation
import XCTest

@testable import OFA

final class CUDAKernelsHostTests: XCTestCase {
    static let shim = """
        #include <math.h>
        #include <string.h>
        struct ofa_dimension { unsigned x, y, z; };
        extern "C" { ofa_dimension blockIdx, threadIdx, blockDim; }
        #define __global__
        #define __device__
        #define __forceinline__ inline
        #define __shared__ static
        static inline float __int_as_float(unsigned bits) { float value; memcpy(&value, &bits, 4); return value; }
        static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
        static inline float __shfl_xor_sync(unsigned, float value, int) { return value; }
        static inline void __syncthreads() {}
        extern "C" void ofa_host_index(unsigned block, unsigned thread, unsigned threads) {
            blockIdx.x = block; threadIdx.x = thread; blockDim.x = threads;
        }
        """

    /// The kernels compiled for the host and opened.
    private static func library() throws -> UnsafeMutableRawPointer {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        guard
            let compiler = (path.split(separator: ":").map { "\($0)/clang++" } + ["/opt/swift/usr/bin/clang++"])
                .first(where: FileManager.default.isExecutableFile)
        else { throw XCTSkip("no clang++ to compile the CUDA kernels for the host") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ofad-kernels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try shim.write(to: folder.appendingPathComponent("shim.h"), atomically: true, encoding: .utf8)
        try CUDAKernels.source.write(to: folder.appendingPathComponent("kernels.cu"), atomically: true, encoding: .utf8)
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
        return try XCTUnwrap(dlopen(output, RTLD_NOW | RTLD_LOCAL), String(cString: dlerror()))
    }

    private var library: UnsafeMutableRawPointer!
    private let backend = CPUBackend(threads: 1)

    override func setUpWithError() throws { library = try Self.library() }
    override func tearDown() { if let library { dlclose(library) } }

    private func symbol<T>(_ name: String, as type: T.Type) throws -> T {
        unsafeBitCast(try XCTUnwrap(dlsym(library, name), name), to: type)
    }

    /// Runs `kernel` once per thread of `blocks` blocks of `threads`, as a launch would.
    private func launch(blocks: Int, threads: Int, _ kernel: () -> Void) throws {
        typealias Index = @convention(c) (UInt32, UInt32, UInt32) -> Void
        let index = try symbol("ofa_host_index", as: Index.self)
        for block in 0..<blocks {
            for thread in 0..<threads {
                index(UInt32(block), UInt32(thread), UInt32(threads))
                kernel()
            }
        }
    }

    private func values(_ count: Int, _ step: Double) -> [Float] { (0..<count).map { Float(sin(Double($0) * step)) } }

    func testElementwiseKernelsGiveTheCPUBackendsResultsForEveryElementAndNoMore() throws {
        let (rows, width) = (13, 1024)
        let count = rows * width
        let threads = 256
        let blocks = (count + threads - 1) / threads
        let a = values(count, 0.37)
        let b = values(count, 0.11)
        let row = values(width, 0.9)
        // One spare element after the data: a thread past the end must not write it.
        var out = [Float](repeating: 0, count: count + 1)
        out[count] = 42
        typealias Add =
            @convention(c) (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int)
            -> Void
        let add = try symbol("ofa_add", as: Add.self)
        try launch(blocks: blocks, threads: threads) { add(&out, a, b, count) }
        let tensorA = backend.makeTensor(shape: [rows, width], values: a)
        XCTAssertEqual(
            Array(out[..<count]),
            backend.read(backend.add(tensorA, backend.makeTensor(shape: [rows, width], values: b))))
        XCTAssertEqual(out[count], 42)

        typealias AddRow =
            @convention(c) (
                UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Float, Int, Int
            ) -> Void
        let addRow = try symbol("ofa_add_row", as: AddRow.self)
        try launch(blocks: blocks, threads: threads) { addRow(&out, a, row, 0.5, rows, width) }
        let rowAdded = backend.read(
            backend.addRow(tensorA, row: backend.makeTensor(shape: [width], values: row), scale: 0.5))
        // Within one rounding: either side may fuse the multiply-add.
        XCTAssertLessThanOrEqual(zip(out[..<count], rowAdded).map { abs($0 - $1) }.max()!, 2.4e-7)

        typealias Scale = @convention(c) (UnsafeMutablePointer<Float>, Float, Int) -> Void
        let scale = try symbol("ofa_scale", as: Scale.self)
        var scaled = a
        try launch(blocks: blocks, threads: threads) { scale(&scaled, -3, count) }
        let expected = backend.copy(tensorA)
        backend.scaleInPlace(expected, by: -3)
        XCTAssertEqual(scaled, backend.read(expected))
    }

    func testTheEpilogueAddsTheBiasThenTheActivationAsTheCPUBackendDoes() throws {
        let (rows, width) = (5, 4096)
        let x = values(rows * width, 0.013).map { $0 * 4 }
        let bias = values(width, 0.7)
        typealias Epilogue =
            @convention(c) (UnsafeMutablePointer<Float>, UnsafePointer<Float>?, Int, Int, Int32) -> Void
        let epilogue = try symbol("ofa_bias_activation", as: Epilogue.self)
        let biased = backend.addRow(
            backend.makeTensor(shape: [rows, width], values: x), row: backend.makeTensor(shape: [width], values: bias),
            scale: 1)
        for (code, activation) in [(Int32(0), Activation.none), (1, .relu), (2, .gelu)] {
            var result = x
            try launch(blocks: (rows * width + 255) / 256, threads: 256) { epilogue(&result, bias, rows, width, code) }
            let expected = backend.read(backend.activate(biased, activation))
            let worst = zip(result, expected).map { abs($0 - $1) / max(1, abs($1)) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-6, "\(activation)")
        }
        var unbiased = x
        try launch(blocks: (rows * width + 255) / 256, threads: 256) { epilogue(&unbiased, nil, rows, width, 0) }
        XCTAssertEqual(unbiased, x, "no bias, no activation: unchanged")
    }

    func testGatherRowsAndTheBucketBiasFollowTheirDefinitions() throws {
        let (tableRows, width, count) = (300, 64, 37)
        let table = values(tableRows * width, 0.21)
        let indices = (0..<count).map { Int32(($0 * 97) % tableRows) }
        var gathered = [Float](repeating: 0, count: count * width)
        typealias Gather =
            @convention(c) (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Int32>, Int, Int)
            -> Void
        let gather = try symbol("ofa_gather_rows", as: Gather.self)
        try launch(blocks: (count * width + 255) / 256, threads: 256) {
            gather(&gathered, table, indices, count, width)
        }
        XCTAssertEqual(
            gathered,
            backend.read(
                backend.gatherRows(
                    backend.makeTensor(shape: [tableRows, width], values: table),
                    indices: backend.makeIndices(shape: [count], values: indices))))

        // A bucket term over rows 3..<8 and columns 10..<30 of [heads, 20, 40] scores, tables of 7 per head.
        let (heads, rows, keys, size) = (4, 20, 40, 7)
        let (bucketRows, bucketColumns, rowOffset, columnOffset) = (5, 20, 3, 10)
        let buckets = (0..<(bucketRows * bucketColumns)).map { Int32(($0 * 3) % size) }
        let bucketTable = values(heads * size, 1.3)
        var scores = values(heads * rows * keys, 0.05)
        var expected = scores
        for head in 0..<heads {
            for i in 0..<bucketRows {
                for j in 0..<bucketColumns {
                    expected[(head * rows + rowOffset + i) * keys + columnOffset + j] +=
                        bucketTable[head * size + Int(buckets[i * bucketColumns + j])]
                }
            }
        }
        typealias Bucket =
            @convention(c) (
                UnsafeMutablePointer<Float>, Int, Int, Int, UnsafePointer<Float>, Int, UnsafePointer<Int32>, Int, Int,
                Int,
                Int
            ) -> Void
        let bucket = try symbol("ofa_add_bucket_bias", as: Bucket.self)
        try launch(blocks: (heads * bucketRows * bucketColumns + 255) / 256, threads: 256) {
            bucket(
                &scores, heads, rows, keys, bucketTable, size, buckets, bucketRows, bucketColumns, rowOffset,
                columnOffset)
        }
        XCTAssertEqual(scores, expected)
    }
}

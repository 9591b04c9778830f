// The CUDA kernels run on the host: compiled as C++ through a small shim (CUDA's thread indices as globals the test
// sets, one call per thread), then checked against CPUBackend and their definitions on OFA-shaped sizes, including
// that threads past the end write nothing. The row kernels' maths (LayerNorm, softmax) is in `__host__ __device__`
// helpers whose lane reductions are one lane here, so a host "thread" computes a whole row through the same code.
// Needs clang++ (the Swift toolchain's); skips loudly without it.
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
        #define __host__
        #define __forceinline__ inline
        static inline float __int_as_float(unsigned bits) { float value; memcpy(&value, &bits, 4); return value; }
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

    typealias Epilogue =
        @convention(c) (UnsafeMutablePointer<Float>, UnsafePointer<Float>?, UnsafePointer<Float>?, Int, Int, Int32)
        -> Void

    func testTheEpilogueAddsTheBiasAndResidualThenTheActivationAsTheCPUBackendDoes() throws {
        let (rows, width) = (5, 4096)
        let x = values(rows * width, 0.013).map { $0 * 4 }
        let bias = values(width, 0.7)
        let residual = values(rows * width, 0.029)
        let epilogue = try symbol("ofa_epilogue", as: Epilogue.self)
        let biased = backend.addRow(
            backend.makeTensor(shape: [rows, width], values: x), row: backend.makeTensor(shape: [width], values: bias),
            scale: 1)
        let withResidual = backend.add(biased, backend.makeTensor(shape: [rows, width], values: residual))
        for (code, activation) in [(Int32(0), Activation.none), (1, .relu), (2, .gelu)] {
            var result = x
            try launch(blocks: (rows * width + 255) / 256, threads: 256) {
                epilogue(&result, bias, nil, rows, width, code)
            }
            let expected = backend.read(backend.activate(biased, activation))
            let worst = zip(result, expected).map { abs($0 - $1) / max(1, abs($1)) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-6, "\(activation)")
            var summed = x
            try launch(blocks: (rows * width + 255) / 256, threads: 256) {
                epilogue(&summed, bias, residual, rows, width, code)
            }
            let expectedSum = backend.read(backend.activate(withResidual, activation))
            let worstSum = zip(summed, expectedSum).map { abs($0 - $1) / max(1, abs($1)) }.max()!
            XCTAssertLessThanOrEqual(worstSum, 1e-6, "\(activation) with a residual")
        }
        var unbiased = x
        try launch(blocks: (rows * width + 255) / 256, threads: 256) { epilogue(&unbiased, nil, nil, rows, width, 0) }
        XCTAssertEqual(unbiased, x, "no bias, no residual, no activation: unchanged")
    }

    /// Threads for `rows` rows of a row kernel on the host: one per row (one lane), in blocks as on the device.
    private func rowLaunch(rows: Int, _ kernel: () -> Void) throws {
        try launch(blocks: (rows + 63) / 64, threads: 64, kernel)
    }

    func testLayerNormRowsMatchTheCPUBackendAndRowsPastTheEndAreLeftAlone() throws {
        let (rows, width) = (29, 1024)
        let x = values(rows * width, 0.031).enumerated().map { $0.element * 3 + Float($0.offset % 7) }
        let gain = values(width, 0.17).map { 1 + $0 }
        let shift = values(width, 0.43)
        var out = [Float](repeating: 42, count: (rows + 1) * width)
        typealias Norm =
            @convention(c) (
                UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int, UnsafePointer<Float>, UnsafePointer<Float>,
                Float
            ) -> Void
        let norm = try symbol("ofa_layer_norm", as: Norm.self)
        try rowLaunch(rows: rows) { norm(x, &out, rows, width, gain, shift, 1e-5) }
        let expected = backend.read(
            backend.layerNorm(
                backend.makeTensor(shape: [rows, width], values: x),
                weight: backend.makeTensor(shape: [width], values: gain),
                bias: backend.makeTensor(shape: [width], values: shift), epsilon: 1e-5))
        let worst = zip(out[..<(rows * width)], expected).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(worst, 2e-5)
        XCTAssertEqual(Set(out[(rows * width)...]), [42], "the row past the end is not written")
    }

    func testTheAttentionSoftmaxMatchesTheCPUBackendWithBiasCausalMaskBlocksAndMaskedRows() throws {
        let (heads, queries, keys) = (4, 20, 37)
        var absolute = values(heads * queries * keys, 0.07).map { $0 * 2 }
        // Head 1, query 3: every key masked by the bias, a row PyTorch's softmax makes NaN.
        for j in 0..<keys { absolute[(1 * queries + 3) * keys + j] = -.infinity }
        let scores = values(heads * queries * keys, 0.013).map { $0 * 5 }
        typealias Softmax =
            @convention(c) (UnsafeMutablePointer<Float>, UnsafePointer<Float>?, Int, Int, Int, Int, Int, Int32) -> Void
        let softmax = try symbol("ofa_attention_softmax", as: Softmax.self)
        func same(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>, _ label: String) {
            XCTAssertEqual(a.count, b.count)
            for (x, y) in zip(a, b) {
                if x.isNaN || y.isNaN {
                    XCTAssertTrue(x.isNaN && y.isNaN, "\(label): \(x) vs \(y)")
                } else {
                    XCTAssertLessThanOrEqual(abs(x - y), 1e-6, label)
                }
            }
        }
        for causal in [false, true] {
            let expected = backend.makeTensor(shape: [heads, queries, keys], values: scores)
            backend.attentionSoftmaxInPlace(
                expected,
                bias: AttentionBias(absolute: backend.makeTensor(shape: [heads, queries, keys], values: absolute)),
                causal: causal)
            let reference = backend.read(expected)
            var whole = scores + [42]
            try rowLaunch(rows: heads * queries) {
                softmax(&whole, absolute, heads, queries, keys, 0, queries, causal ? 1 : 0)
            }
            same(whole[..<(heads * queries * keys)], reference[...], "causal \(causal)")
            XCTAssertEqual(whole.last, 42, "nothing past the end")
            // Rows 5 ..< 13 as a block of their own, as the blocked attention runs them.
            let (first, rows) = (5, 8)
            var block: [Float] = []
            for head in 0..<heads {
                block += scores[((head * queries + first) * keys)..<((head * queries + first + rows) * keys)]
            }
            try rowLaunch(rows: heads * rows) {
                softmax(&block, absolute, heads, rows, keys, first, queries, causal ? 1 : 0)
            }
            for head in 0..<heads {
                same(
                    block[(head * rows * keys)..<((head + 1) * rows * keys)],
                    reference[((head * queries + first) * keys)..<((head * queries + first + rows) * keys)],
                    "causal \(causal), head \(head) of a block")
            }
        }
        var unbiased = scores
        try rowLaunch(rows: heads * queries) { softmax(&unbiased, nil, heads, queries, keys, 0, queries, 0) }
        let plain = backend.makeTensor(shape: [heads, queries, keys], values: scores)
        backend.attentionSoftmaxInPlace(
            plain, bias: AttentionBias(absolute: backend.zeros(shape: [heads, queries, keys])), causal: false)
        same(unbiased[...], backend.read(plain)[...], "no bias")
    }

    func testIm2colThenAProductGivesTheCPUBackendsConvolutionAndMaxPoolItsPooling() throws {
        typealias Columns =
            @convention(c) (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int, Int, Int, Int, Int, Int, Int, Int)
            -> Void
        let im2col = try symbol("ofa_im2col", as: Columns.self)
        let epilogue = try symbol("ofa_epilogue", as: Epilogue.self)
        // The ResNet's kinds: the 7×7/2 stem, a strided 3×3, a 1×1; an odd side so the edges are uneven.
        for (side, channels, outputs, geometry) in [
            (19, 3, 8, ConvolutionGeometry(kernel: 7, stride: 2, padding: 3)),
            (11, 16, 12, ConvolutionGeometry(kernel: 3, stride: 2, padding: 1)),
            (9, 24, 10, ConvolutionGeometry(kernel: 1, stride: 1, padding: 0)),
        ] {
            let k = geometry.kernel
            let outSide = geometry.outputSize(side)
            let input = values(side * side * channels, 0.37)
            let weight = values(outputs * channels * k * k, 0.053)
            let bias = values(outputs, 0.9)
            let residual = values(outSide * outSide * outputs, 0.21)
            let width = k * k * channels
            var columns = [Float](repeating: 0, count: outSide * outSide * width + 1)
            columns[columns.count - 1] = 42
            try launch(blocks: (outSide * outSide * width + 255) / 256, threads: 256) {
                im2col(&columns, input, side, side, channels, k, geometry.stride, geometry.padding, outSide, outSide)
            }
            XCTAssertEqual(columns.last, 42, "nothing past the end")
            // The product cuBLAS will do, in float64: columns · reordered weightᵀ.
            let reordered = CUDAKernels.channelsLastWeight(weight, outputs: outputs, channels: channels, kernel: k)
            var result = [Float](repeating: 0, count: outSide * outSide * outputs)
            for pixel in 0..<(outSide * outSide) {
                for output in 0..<outputs {
                    var sum = 0.0
                    for j in 0..<width {
                        sum += Double(columns[pixel * width + j]) * Double(reordered[output * width + j])
                    }
                    result[pixel * outputs + output] = Float(sum)
                }
            }
            try launch(blocks: (result.count + 255) / 256, threads: 256) {
                epilogue(&result, bias, residual, outSide * outSide, outputs, 1)
            }
            let cpu = CPUBackend(threads: 1)
            let prepared = cpu.prepareConvolutionWeight(
                cpu.makeTensor(shape: [outputs, width], values: weight), inputs: channels, geometry: geometry,
                inputSide: side)
            let expected = cpu.read(
                cpu.convolution(
                    cpu.makeTensor(shape: [side, side, channels], values: input), weight: prepared,
                    bias: cpu.makeTensor(shape: [outputs], values: bias), geometry: geometry,
                    residual: cpu.makeTensor(shape: [outSide, outSide, outputs], values: residual), activation: .relu))
            let worst = zip(result, expected).map { abs($0 - $1) / max(1, abs($1)) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-5, "\(k)×\(k)/\(geometry.stride) over \(channels) channels")
        }

        typealias Pool =
            @convention(c) (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int, Int, Int, Int, Int, Int, Int, Int)
            -> Void
        let pool = try symbol("ofa_max_pool", as: Pool.self)
        let (side, channels) = (15, 5)
        let geometry = ConvolutionGeometry(kernel: 3, stride: 2, padding: 1)
        let outSide = geometry.outputSize(side)
        // All negative, so a padded zero winning would show.
        let input = values(side * side * channels, 0.61).map { $0 - 2 }
        var pooled = [Float](repeating: 42, count: outSide * outSide * channels + 1)
        try launch(blocks: (outSide * outSide * channels + 255) / 256, threads: 256) {
            pool(&pooled, input, side, side, channels, 3, 2, 1, outSide, outSide)
        }
        XCTAssertEqual(pooled.last, 42, "nothing past the end")
        XCTAssertEqual(
            Array(pooled.dropLast()),
            backend.read(
                backend.maxPool(backend.makeTensor(shape: [side, side, channels], values: input), geometry: geometry)))
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

// The CUDA kernels' own checks, through a GPUQueue: on a GPU (the device check) and on the host, where the same
// source is compiled as C++ and launched thread by thread through the same argument arrays cuLaunchKernel takes
// (HostQueue, CUDAKernelsHostTests). Each kernel against CPUBackend or its definition on OFA-shaped sizes, and that threads past
// the end write nothing.
import Foundation
import OFA

extension GPUQueue {
    public func upload(_ values: [Float]) throws -> UInt64 { try uploadBytes(values) }
    public func upload(_ values: [Int32]) throws -> UInt64 { try uploadBytes(values) }

    private func uploadBytes<T>(_ values: [T]) throws -> UInt64 {
        let address = try allocate(values.count * MemoryLayout<T>.stride)
        try values.withUnsafeBytes { try upload($0.baseAddress!, count: $0.count, to: address) }
        return address
    }

    public func download(_ address: UInt64, count: Int) throws -> [Float] {
        var values = [Float](repeating: 0, count: count)
        try values.withUnsafeMutableBytes { try download(address, count: $0.count, into: $0.baseAddress!) }
        return values
    }
}

public struct KernelConformance {
    let queue: GPUQueue
    let backend = CPUBackend(threads: 1)
    static let threads = 256

    public init(queue: GPUQueue) { self.queue = queue }

    /// Every kernel's checks.
    public func run() throws -> [ConformanceResult] {
        var context = ConformanceContext(backend: backend, size: .small, shapes: .small)
        try elementwise(&context)
        try epilogue(&context)
        try gathers(&context)
        try layerNorm(&context)
        try softmax(&context)
        try convolution(&context)
        return context.results
    }

    // MARK: Launching

    func blocks(_ count: Int) -> Int { max(1, (count + KernelConformance.threads - 1) / KernelConformance.threads) }

    /// Launches over `count` threads (elementwise kernels).
    func launch(_ kernel: String, over count: Int, _ arguments: [KernelArgument]) throws {
        try queue.launch(kernel, blocks: blocks(count), threads: KernelConformance.threads, arguments)
    }

    /// Launches a row kernel over `rows` rows.
    func launch(_ kernel: String, rows: Int, _ arguments: [KernelArgument]) throws {
        try launch(kernel, over: rows * queue.rowLanes, arguments)
    }

    /// An output buffer of `count` floats plus one sentinel after them.
    func output(_ count: Int, initial: [Float]? = nil) throws -> UInt64 {
        try queue.upload((initial ?? [Float](repeating: 0, count: count)) + [42])
    }

    /// The `count` results, recording whether the sentinel after them survived.
    func result(
        _ address: UInt64, count: Int, _ name: String, _ context: inout ConformanceContext
    ) throws -> [Float] {
        let values = try queue.download(address, count: count + 1)
        queue.release(address)
        context.compareValues("\(name), nothing past the end", [values[count]], columns: 1, tolerance: 0) { _ in [42] }
        return Array(values[..<count])
    }

    func values(_ count: Int, _ seed: UInt64, scale: Float = 1) -> [Float] {
        ConformanceContext.values(count, seed: seed, scale: scale)
    }

    func compare(
        _ name: String, _ got: [Float], _ expected: [Float], columns: Int, tolerance: Double,
        _ context: inout ConformanceContext
    ) {
        context.compareValues(name, got, columns: columns, tolerance: tolerance) { row in
            expected[(row * columns)..<((row + 1) * columns)].map { Double($0) }
        }
    }

    // MARK: Checks

    func elementwise(_ context: inout ConformanceContext) throws {
        let (rows, width) = (13, 1024)
        let count = rows * width
        let a = values(count, 1)
        let b = values(count, 2)
        let row = values(width, 3)
        let (ta, tb) = (try queue.upload(a), try queue.upload(b))
        let tr = try queue.upload(row)
        let tensorA = backend.makeTensor(shape: [rows, width], values: a)
        var out = try output(count)
        try launch("ofa_add", over: count, [.address(out), .address(ta), .address(tb), .long(count)])
        compare(
            "ofa_add", try result(out, count: count, "ofa_add", &context),
            backend.read(backend.add(tensorA, backend.makeTensor(shape: [rows, width], values: b))), columns: width,
            tolerance: 0, &context)
        out = try output(count)
        try launch(
            "ofa_add_row", over: count,
            [.address(out), .address(ta), .address(tr), .float(0.5), .long(rows), .long(width)])
        // Within one rounding: either side may fuse the multiply-add.
        compare(
            "ofa_add_row", try result(out, count: count, "ofa_add_row", &context),
            backend.read(backend.addRow(tensorA, row: backend.makeTensor(shape: [width], values: row), scale: 0.5)),
            columns: width, tolerance: 1.2e-7, &context)
        out = try output(count, initial: a)
        try launch("ofa_scale", over: count, [.address(out), .float(-3), .long(count)])
        let scaled = backend.copy(tensorA)
        backend.scaleInPlace(scaled, by: -3)
        compare(
            "ofa_scale", try result(out, count: count, "ofa_scale", &context), backend.read(scaled), columns: width,
            tolerance: 0, &context)
        for address in [ta, tb, tr] { queue.release(address) }
    }

    func epilogue(_ context: inout ConformanceContext) throws {
        let (rows, width) = (5, 4096)
        let count = rows * width
        let x = values(count, 10, scale: 4)
        let bias = values(width, 11)
        let residual = values(count, 12)
        let (tb, tr) = (try queue.upload(bias), try queue.upload(residual))
        let biased = backend.addRow(
            backend.makeTensor(shape: [rows, width], values: x), row: backend.makeTensor(shape: [width], values: bias),
            scale: 1)
        let summed = backend.add(biased, backend.makeTensor(shape: [rows, width], values: residual))
        for (code, activation) in [(Int32(0), Activation.none), (1, .relu), (2, .gelu)] {
            for withResidual in [false, true] {
                let name = "ofa_epilogue, \(activation)\(withResidual ? ", residual" : "")"
                let out = try output(count, initial: x)
                try launch(
                    "ofa_epilogue", over: count,
                    [
                        .address(out), .address(tb), withResidual ? .address(tr) : .null, .long(rows), .long(width),
                        .int(code),
                    ])
                compare(
                    name, try result(out, count: count, name, &context),
                    backend.read(backend.activate(withResidual ? summed : biased, activation)), columns: width,
                    tolerance: 1e-6, &context)
            }
        }
        let out = try output(count, initial: x)
        try launch("ofa_epilogue", over: count, [.address(out), .null, .null, .long(rows), .long(width), .int(0)])
        compare(
            "ofa_epilogue, nothing to add", try result(out, count: count, "ofa_epilogue", &context), x,
            columns: width, tolerance: 0, &context)
        for address in [tb, tr] { queue.release(address) }
    }

    func gathers(_ context: inout ConformanceContext) throws {
        let (tableRows, width, count) = (300, 64, 37)
        let table = values(tableRows * width, 20)
        let indices = (0..<count).map { Int32(($0 * 97) % tableRows) }
        let (tt, ti) = (try queue.upload(table), try queue.upload(indices))
        let out = try output(count * width)
        try launch(
            "ofa_gather_rows", over: count * width,
            [.address(out), .address(tt), .address(ti), .long(count), .long(width)])
        compare(
            "ofa_gather_rows", try result(out, count: count * width, "ofa_gather_rows", &context),
            backend.read(
                backend.gatherRows(
                    backend.makeTensor(shape: [tableRows, width], values: table),
                    indices: backend.makeIndices(shape: [count], values: indices))), columns: width, tolerance: 0,
            &context)

        // A bucket term over rows 3..<8 and columns 10..<30 of [heads, 20, 40] scores, tables of 7 per head.
        let (heads, rows, keys, size) = (4, 20, 40, 7)
        let (bucketRows, bucketColumns, rowOffset, columnOffset) = (5, 20, 3, 10)
        let buckets = (0..<(bucketRows * bucketColumns)).map { Int32(($0 * 3) % size) }
        let bucketTable = values(heads * size, 21)
        let scores = values(heads * rows * keys, 22)
        var expected = scores
        for head in 0..<heads {
            for i in 0..<bucketRows {
                for j in 0..<bucketColumns {
                    expected[(head * rows + rowOffset + i) * keys + columnOffset + j] +=
                        bucketTable[head * size + Int(buckets[i * bucketColumns + j])]
                }
            }
        }
        let (tb, tk) = (try queue.upload(bucketTable), try queue.upload(buckets))
        let ts = try output(scores.count, initial: scores)
        try launch(
            "ofa_add_bucket_bias", over: heads * bucketRows * bucketColumns,
            [
                .address(ts), .long(heads), .long(rows), .long(keys), .address(tb), .long(size), .address(tk),
                .long(bucketRows), .long(bucketColumns), .long(rowOffset), .long(columnOffset),
            ])
        compare(
            "ofa_add_bucket_bias", try result(ts, count: scores.count, "ofa_add_bucket_bias", &context), expected,
            columns: keys, tolerance: 0, &context)
        for address in [tt, ti, tb, tk] { queue.release(address) }
    }

    func layerNorm(_ context: inout ConformanceContext) throws {
        let (rows, width) = (29, 1024)
        // Rows far from zero mean, as a one-pass variance would get wrong.
        let x = values(rows * width, 30, scale: 3).enumerated().map { $0.element + Float($0.offset % 7) }
        let gain = values(width, 31).map { 1 + $0 }
        let shift = values(width, 32)
        let (tx, tg, ts) = (try queue.upload(x), try queue.upload(gain), try queue.upload(shift))
        let out = try output(rows * width)
        try launch(
            "ofa_layer_norm", rows: rows,
            [.address(tx), .address(out), .long(rows), .long(width), .address(tg), .address(ts), .float(1e-5)])
        let expected = backend.read(
            backend.layerNorm(
                backend.makeTensor(shape: [rows, width], values: x),
                weight: backend.makeTensor(shape: [width], values: gain),
                bias: backend.makeTensor(shape: [width], values: shift), epsilon: 1e-5))
        compare(
            "ofa_layer_norm", try result(out, count: rows * width, "ofa_layer_norm", &context), expected,
            columns: width, tolerance: 2e-5, &context)
        for address in [tx, tg, ts] { queue.release(address) }
    }

    func softmax(_ context: inout ConformanceContext) throws {
        let (heads, queries, keys) = (4, 20, 37)
        var absolute = values(heads * queries * keys, 40, scale: 2)
        // Head 1, query 3: every key masked by the bias, a row PyTorch's softmax makes NaN.
        for j in 0..<keys { absolute[(1 * queries + 3) * keys + j] = -.infinity }
        let scores = values(heads * queries * keys, 41, scale: 5)
        let ta = try queue.upload(absolute)
        for causal in [false, true] {
            let expected = backend.makeTensor(shape: [heads, queries, keys], values: scores)
            backend.attentionSoftmaxInPlace(
                expected,
                bias: AttentionBias(absolute: backend.makeTensor(shape: [heads, queries, keys], values: absolute)),
                causal: causal)
            let reference = backend.read(expected)
            let name = "ofa_attention_softmax\(causal ? ", causal" : "")"
            let out = try output(scores.count, initial: scores)
            try launch(
                "ofa_attention_softmax", rows: heads * queries,
                [
                    .address(out), .address(ta), .long(heads), .long(queries), .long(keys), .long(0), .long(queries),
                    .int(causal ? 1 : 0),
                ])
            compare(
                name, try result(out, count: scores.count, name, &context), reference, columns: keys,
                tolerance: 1e-6, &context)
            // Rows 5 ..< 13 as a block of their own, as the blocked attention runs them.
            let (first, rows) = (5, 8)
            var block: [Float] = []
            var blockReference: [Float] = []
            for head in 0..<heads {
                let range = ((head * queries + first) * keys)..<((head * queries + first + rows) * keys)
                block += scores[range]
                blockReference += reference[range]
            }
            let blockOut = try output(block.count, initial: block)
            try launch(
                "ofa_attention_softmax", rows: heads * rows,
                [
                    .address(blockOut), .address(ta), .long(heads), .long(rows), .long(keys), .long(first),
                    .long(queries), .int(causal ? 1 : 0),
                ])
            compare(
                "\(name), a block of rows", try result(blockOut, count: block.count, name, &context), blockReference,
                columns: keys, tolerance: 1e-6, &context)
        }
        queue.release(ta)
    }

    func convolution(_ context: inout ConformanceContext) throws {
        // The ResNet's kinds: the 7×7/2 stem, a strided 3×3, a 1×1; odd sides so the edges are uneven.
        for (index, (side, channels, outputs, geometry)) in [
            (19, 3, 8, ConvolutionGeometry(kernel: 7, stride: 2, padding: 3)),
            (11, 16, 12, ConvolutionGeometry(kernel: 3, stride: 2, padding: 1)),
            (9, 24, 10, ConvolutionGeometry(kernel: 1, stride: 1, padding: 0)),
        ].enumerated() {
            let k = geometry.kernel
            let outSide = geometry.outputSize(side)
            let seed = UInt64(50 + 5 * index)
            let input = values(side * side * channels, seed)
            let weight = values(outputs * channels * k * k, seed + 1, scale: 0.2)
            let bias = values(outputs, seed + 2)
            let residual = values(outSide * outSide * outputs, seed + 3)
            let width = k * k * channels
            let ti = try queue.upload(input)
            let columns = try output(outSide * outSide * width)
            try launch(
                "ofa_im2col", over: outSide * outSide * width,
                [
                    .address(columns), .address(ti), .long(side), .long(side), .long(channels), .long(k),
                    .long(geometry.stride), .long(geometry.padding), .long(outSide), .long(outSide),
                ])
            let name = "ofa_im2col, \(k)×\(k)/\(geometry.stride)"
            let unfolded = try result(columns, count: outSide * outSide * width, name, &context)
            // The product cuBLAS does, in float64: columns · reordered weightᵀ, then the epilogue kernel.
            let reordered = CUDAKernels.channelsLastWeight(weight, outputs: outputs, channels: channels, kernel: k)
            var product = [Float](repeating: 0, count: outSide * outSide * outputs)
            for pixel in 0..<(outSide * outSide) {
                for output in 0..<outputs {
                    product[pixel * outputs + output] = Float(
                        referenceDot(unfolded, pixel * width, 1, reordered, output * width, 1, count: width).value)
                }
            }
            let (tb, tr) = (try queue.upload(bias), try queue.upload(residual))
            let out = try output(product.count, initial: product)
            try launch(
                "ofa_epilogue", over: product.count,
                [.address(out), .address(tb), .address(tr), .long(outSide * outSide), .long(outputs), .int(1)])
            let expected = backend.read(
                backend.convolution(
                    backend.makeTensor(shape: [side, side, channels], values: input),
                    weight: backend.prepareConvolutionWeight(
                        backend.makeTensor(shape: [outputs, width], values: weight), inputs: channels,
                        geometry: geometry, inputSide: side),
                    bias: backend.makeTensor(shape: [outputs], values: bias), geometry: geometry,
                    residual: backend.makeTensor(shape: [outSide, outSide, outputs], values: residual),
                    activation: .relu))
            compare(
                "\(name), product, epilogue", try result(out, count: product.count, name, &context), expected,
                columns: outputs, tolerance: 1e-5, &context)
            for address in [ti, tb, tr] { queue.release(address) }
        }

        let (side, channels) = (15, 5)
        let geometry = ConvolutionGeometry(kernel: 3, stride: 2, padding: 1)
        let outSide = geometry.outputSize(side)
        // All below zero, so a padded zero winning would show.
        let input = values(side * side * channels, 70).map { $0 - 2 }
        let ti = try queue.upload(input)
        let out = try output(outSide * outSide * channels)
        try launch(
            "ofa_max_pool", over: outSide * outSide * channels,
            [
                .address(out), .address(ti), .long(side), .long(side), .long(channels), .long(3), .long(2), .long(1),
                .long(outSide), .long(outSide),
            ])
        compare(
            "ofa_max_pool", try result(out, count: outSide * outSide * channels, "ofa_max_pool", &context),
            backend.read(
                backend.maxPool(backend.makeTensor(shape: [side, side, channels], values: input), geometry: geometry)),
            columns: channels, tolerance: 0, &context)
        queue.release(ti)
    }
}

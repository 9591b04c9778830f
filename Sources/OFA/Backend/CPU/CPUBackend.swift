// The CPU backend: OpenBLAS sgemm for matrix work, plain loops for the rest. The only file that imports COpenBLAS
// (CPUBackend+Gradients.swift calls sgemm through `gemm`).
import COpenBLAS
import Foundation

public final class CPUBackend: Backend, @unchecked Sendable {
    public let name = "cpu"
    public let threads: Int
    private let pool = BufferPool(capacity: 128 << 20)

    /// `threads` sets OpenBLAS's thread count for the whole process.
    public init(threads: Int = 0) {
        let count = threads > 0 ? threads : max(1, ProcessInfo.processInfo.activeProcessorCount)
        openblas_set_num_threads(Int32(count))
        self.threads = Int(openblas_get_num_threads())
    }

    // MARK: Memory

    private func allocate(_ count: Int, _ type: ElementType = .float32) -> DeviceBuffer {
        let bytes = max(count, 1) * type.byteCount
        let pool = self.pool
        return DeviceBuffer(address: pool.take(bytes), byteCount: bytes) { pool.give($0, bytes: bytes) }
    }

    func empty(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, buffer: allocate(shape.reduce(1, *)))
    }

    public func makeTensor(shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> Tensor {
        let tensor = empty(shape)
        try fill(UnsafeMutableBufferPointer(start: tensor.floats, count: tensor.count))
        return tensor
    }

    public func makeIndices(shape: [Int], values: [Int32]) -> Tensor {
        precondition(values.count == shape.reduce(1, *), "\(values.count) indices for shape \(shape)")
        let tensor = Tensor(shape: shape, elementType: .int32, buffer: allocate(values.count, .int32))
        tensor.buffer.address.bindMemory(to: Int32.self, capacity: values.count)
            .initialize(from: values, count: values.count)
        return tensor
    }

    public func zeros(shape: [Int]) -> Tensor {
        let tensor = empty(shape)
        tensor.floats.initialize(repeating: 0, count: tensor.count)
        return tensor
    }

    public func read(_ tensor: Tensor) -> [Float] {
        Array(UnsafeBufferPointer(start: tensor.floats, count: tensor.count))
    }

    public func read(_ tensor: Tensor, offset: Int, count: Int) -> [Float] {
        precondition(offset >= 0 && offset + count <= tensor.count, "read outside the tensor")
        return Array(UnsafeBufferPointer(start: tensor.floats + offset, count: count))
    }

    // MARK: GEMM

    public func linear(_ input: Tensor, weight: Tensor, bias: Tensor?, activation: Activation) -> Tensor {
        let inputs = weight.shape[1]
        let outputs = weight.shape[0]
        precondition(input.shape.last == inputs, "linear: input \(input.shape) vs weight \(weight.shape)")
        let rows = input.count / inputs
        let output = empty(Array(input.shape.dropLast()) + [outputs])
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs),
            1, input.floats, Int32(inputs), weight.floats, Int32(inputs), 0, output.floats, Int32(outputs))
        finish(output.floats, rows: rows, columns: outputs, bias: bias?.floats, residual: nil, activation: activation)
        return output
    }

    public func attentionScores(query: Tensor, key: Tensor, heads: Int, initial: Tensor?) -> Tensor {
        let queries = query.shape[0]
        let keys = key.shape[0]
        let width = query.shape[1]
        let headWidth = width / heads
        let output: Tensor
        if let initial {
            precondition(initial.shape == [heads, queries, keys], "scores: initial \(initial.shape)")
            output = copy(initial)
        } else {
            output = empty([heads, queries, keys])
        }
        for head in 0..<heads {
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(queries), Int32(keys), Int32(headWidth),
                1, query.floats + head * headWidth, Int32(width), key.floats + head * headWidth, Int32(width),
                initial == nil ? 0 : 1, output.floats + head * queries * keys, Int32(keys))
        }
        return output
    }

    public func attentionContext(probabilities: Tensor, value: Tensor, heads: Int, headScale: Tensor) -> Tensor {
        let queries = probabilities.shape[1]
        let keys = probabilities.shape[2]
        let width = value.shape[1]
        let headWidth = width / heads
        let output = empty([queries, width])
        for head in 0..<heads {
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(queries), Int32(headWidth), Int32(keys),
                headScale.floats[head], probabilities.floats + head * queries * keys, Int32(keys),
                value.floats + head * headWidth, Int32(width), 0, output.floats + head * headWidth,
                Int32(width))
        }
        return output
    }

    /// Row-major sgemm: `c = alpha · op(a) · op(b) + beta · c`, op transposing where asked; m × n result, k inner.
    func gemm(
        transposingA: Bool, transposingB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, beta: Float,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transposingA ? CblasTrans : CblasNoTrans, transposingB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    // MARK: Convolution

    public func convolution(
        _ input: Tensor, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry,
        residual: Tensor?, activation: Activation
    ) -> Tensor {
        let channels = input.shape[0]
        let height = input.shape[1]
        let width = input.shape[2]
        let outputs = weight.shape[0]
        let kernel = geometry.kernel
        precondition(weight.shape[1] == channels * kernel * kernel, "convolution: weight \(weight.shape)")
        let outHeight = geometry.outputSize(height)
        let outWidth = geometry.outputSize(width)
        let pixels = outHeight * outWidth
        let output = empty([outputs, outHeight, outWidth])
        let columns: UnsafePointer<Float>
        var scratch: UnsafeMutablePointer<Float>?
        if kernel == 1 && geometry.stride == 1 && geometry.padding == 0 {
            columns = UnsafePointer(input.floats)
        } else {
            let buffer = pool.take(channels * kernel * kernel * pixels * 4).assumingMemoryBound(to: Float.self)
            imageToColumns(
                input.floats, channels: channels, height: height, width: width, geometry: geometry,
                outHeight: outHeight, outWidth: outWidth, into: buffer)
            columns = UnsafePointer(buffer)
            scratch = buffer
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(outputs), Int32(pixels),
            Int32(channels * kernel * kernel), 1, weight.floats, Int32(channels * kernel * kernel),
            columns, Int32(pixels), 0, output.floats, Int32(pixels))
        if let scratch { pool.give(scratch, bytes: channels * kernel * kernel * pixels * 4) }
        finishChannels(
            output.floats, channels: outputs, pixels: pixels, bias: bias.floats,
            residual: residual?.floats, activation: activation)
        return output
    }

    private func imageToColumns(
        _ source: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
        geometry: ConvolutionGeometry, outHeight: Int, outWidth: Int,
        into columns: UnsafeMutablePointer<Float>
    ) {
        let kernel = geometry.kernel
        let stride = geometry.stride
        let padding = geometry.padding
        let channelBlock = kernel * kernel * outHeight * outWidth
        parallel(channels, cost: channelBlock) { range in
            for channel in range {
                var row = columns + channel * channelBlock
                let plane = source + channel * height * width
                for ky in 0..<kernel {
                    for kx in 0..<kernel {
                        for oy in 0..<outHeight {
                            let y = oy * stride - padding + ky
                            let line = row + oy * outWidth
                            if y < 0 || y >= height {
                                line.initialize(repeating: 0, count: outWidth)
                                continue
                            }
                            let sourceLine = plane + y * width
                            if stride == 1 {
                                for ox in 0..<outWidth {
                                    let x = ox - padding + kx
                                    line[ox] = (x >= 0 && x < width) ? sourceLine[x] : 0
                                }
                            } else {
                                for ox in 0..<outWidth {
                                    let x = ox * stride - padding + kx
                                    line[ox] = (x >= 0 && x < width) ? sourceLine[x] : 0
                                }
                            }
                        }
                        row += outHeight * outWidth
                    }
                }
            }
        }
    }

    public func maxPool(_ input: Tensor, geometry: ConvolutionGeometry) -> Tensor {
        let channels = input.shape[0]
        let height = input.shape[1]
        let width = input.shape[2]
        let outHeight = geometry.outputSize(height)
        let outWidth = geometry.outputSize(width)
        let output = empty([channels, outHeight, outWidth])
        let source = input.floats
        let destination = output.floats
        for channel in 0..<channels {
            let plane = source + channel * height * width
            let target = destination + channel * outHeight * outWidth
            for oy in 0..<outHeight {
                let y0 = max(0, oy * geometry.stride - geometry.padding)
                let y1 = min(height, oy * geometry.stride - geometry.padding + geometry.kernel)
                for ox in 0..<outWidth {
                    let x0 = max(0, ox * geometry.stride - geometry.padding)
                    let x1 = min(width, ox * geometry.stride - geometry.padding + geometry.kernel)
                    var best = -Float.infinity
                    for y in y0..<y1 {
                        for x in x0..<x1 { best = max(best, plane[y * width + x]) }
                    }
                    target[oy * outWidth + ox] = best
                }
            }
        }
        return output
    }

    // MARK: Elementwise

    public func layerNorm(_ input: Tensor, weight: Tensor, bias: Tensor, epsilon: Float) -> Tensor {
        let width = input.shape.last!
        let rows = input.count / width
        let output = empty(input.shape)
        let gain = weight.floats
        let shift = bias.floats
        parallel(rows, cost: width) { range in
            for row in range {
                let source = input.floats + row * width
                let target = output.floats + row * width
                var sum: Float = 0
                for i in 0..<width { sum += source[i] }
                let mean = sum / Float(width)
                var squares: Float = 0
                for i in 0..<width {
                    let centred = source[i] - mean
                    squares += centred * centred
                }
                let inverse = 1 / (squares / Float(width) + epsilon).squareRoot()
                for i in 0..<width { target[i] = (source[i] - mean) * inverse * gain[i] + shift[i] }
            }
        }
        return output
    }

    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.count == b.count, "add: \(a.shape) vs \(b.shape)")
        let output = empty(a.shape)
        let x = a.floats
        let y = b.floats
        let z = output.floats
        let chunk = 16_384
        parallel((a.count + chunk - 1) / chunk, cost: chunk) { range in
            for i in (range.lowerBound * chunk)..<min(a.count, range.upperBound * chunk) { z[i] = x[i] + y[i] }
        }
        return output
    }

    public func addRow(_ input: Tensor, row: Tensor, scale: Float) -> Tensor {
        let width = row.count
        let rows = input.count / width
        let output = empty(input.shape)
        let x = input.floats
        let r = row.floats
        let z = output.floats
        for i in 0..<rows {
            for j in 0..<width { z[i * width + j] = x[i * width + j] * scale + r[j] }
        }
        return output
    }

    public func scaleInPlace(_ tensor: Tensor, by factor: Float) {
        let x = tensor.floats
        for i in 0..<tensor.count { x[i] *= factor }
    }

    public func softmaxInPlace(_ tensor: Tensor) {
        let width = tensor.shape.last!
        let rows = tensor.count / width
        parallel(rows, cost: width) { range in
            for row in range { FastMath.softmax(tensor.floats + row * width, count: width) }
        }
    }

    public func causalMaskInPlace(_ scores: Tensor) {
        let heads = scores.shape[0]
        let size = scores.shape[1]
        precondition(scores.shape[2] == size, "causal mask needs square scores")
        for head in 0..<heads {
            let matrix = scores.floats + head * size * size
            for i in 0..<size {
                for j in (i + 1)..<max(i + 1, size) { matrix[i * size + j] = -.infinity }
            }
        }
    }

    public func addBucketBiasInPlace(
        _ scores: Tensor, table: Tensor, buckets: Tensor, rowOffset: Int,
        columnOffset: Int
    ) {
        let heads = scores.shape[0]
        let queries = scores.shape[1]
        let keys = scores.shape[2]
        let blockRows = buckets.shape[0]
        let blockColumns = buckets.shape[1]
        precondition(table.shape[1] == heads, "bucket table \(table.shape) for \(heads) heads")
        let index = buckets.indices
        let values = table.floats
        parallel(heads, cost: blockRows * blockColumns) { range in
            for head in range {
                let matrix = scores.floats + head * queries * keys
                for i in 0..<blockRows {
                    let line = matrix + (rowOffset + i) * keys + columnOffset
                    let bucketLine = index + i * blockColumns
                    for j in 0..<blockColumns { line[j] += values[Int(bucketLine[j]) * heads + head] }
                }
            }
        }
    }

    public func gatherRows(_ table: Tensor, indices: Tensor) -> Tensor {
        let width = table.shape[1]
        let count = indices.count
        let output = empty([count, width])
        for i in 0..<count {
            let row = Int(indices.indices[i])
            precondition(row >= 0 && row < table.shape[0], "row \(row) outside a table of \(table.shape[0])")
            (output.floats + i * width).update(from: table.floats + row * width, count: width)
        }
        return output
    }

    public func concatenateRows(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape[1] == b.shape[1], "concatenate: \(a.shape) vs \(b.shape)")
        let output = empty([a.shape[0] + b.shape[0], a.shape[1]])
        output.floats.update(from: a.floats, count: a.count)
        (output.floats + a.count).update(from: b.floats, count: b.count)
        return output
    }

    public func rows(_ input: Tensor, _ range: Range<Int>) -> Tensor {
        let width = input.count / input.shape[0]
        let output = empty([range.count] + input.shape.dropFirst())
        output.floats.update(from: input.floats + range.lowerBound * width, count: range.count * width)
        return output
    }

    public func transpose(_ input: Tensor) -> Tensor {
        let rows = input.shape[0]
        let columns = input.shape[1]
        let output = empty([columns, rows])
        let x = input.floats
        let y = output.floats
        let block = 32
        for i0 in stride(from: 0, to: rows, by: block) {
            for j0 in stride(from: 0, to: columns, by: block) {
                for i in i0..<min(i0 + block, rows) {
                    for j in j0..<min(j0 + block, columns) { y[j * rows + i] = x[i * columns + j] }
                }
            }
        }
        return output
    }

    public func copy(_ input: Tensor) -> Tensor {
        let output = empty(input.shape)
        output.floats.update(from: input.floats, count: input.count)
        return output
    }

    // MARK: Threads

    /// Splits `count` items of `cost` elements each over the backend's threads when there is enough work.
    func parallel(_ count: Int, cost: Int, _ body: (Range<Int>) -> Void) {
        let workers = threads == 1 || count * cost < 65_536 ? 1 : min(threads, count)
        if workers <= 1 {
            body(0..<count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            body((count * worker / workers)..<(count * (worker + 1) / workers))
        }
    }

    // MARK: Epilogues

    /// Row-wise bias, residual and activation after a GEMM.
    private func finish(
        _ output: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
        bias: UnsafeMutablePointer<Float>?, residual: UnsafeMutablePointer<Float>?,
        activation: Activation
    ) {
        parallel(rows, cost: columns) { range in
            for row in range {
                let line = output + row * columns
                if let bias { for j in 0..<columns { line[j] += bias[j] } }
                if let residual { for j in 0..<columns { line[j] += residual[row * columns + j] } }
                apply(activation, line, columns)
            }
        }
    }

    /// Channel-wise bias (one value per row of [C, pixels]), residual and activation after a convolution.
    private func finishChannels(
        _ output: UnsafeMutablePointer<Float>, channels: Int, pixels: Int,
        bias: UnsafeMutablePointer<Float>, residual: UnsafeMutablePointer<Float>?,
        activation: Activation
    ) {
        parallel(channels, cost: pixels) { range in
            for channel in range {
                let line = output + channel * pixels
                let shift = bias[channel]
                if let residual {
                    let other = residual + channel * pixels
                    for j in 0..<pixels { line[j] += shift + other[j] }
                } else {
                    for j in 0..<pixels { line[j] += shift }
                }
                apply(activation, line, pixels)
            }
        }
    }

    func apply(_ activation: Activation, _ line: UnsafeMutablePointer<Float>, _ count: Int) {
        switch activation {
        case .none: break
        case .relu: for j in 0..<count { line[j] = max(line[j], 0) }
        case .gelu: for j in 0..<count { line[j] = FastMath.gelu(line[j]) }
        }
    }
}

extension Tensor {
    /// Host pointer to the elements; valid for CPU-backend tensors only, used by the CPU backend's files only.
    var floats: UnsafeMutablePointer<Float> {
        buffer.address.assumingMemoryBound(to: Float.self)
    }

    fileprivate var indices: UnsafeMutablePointer<Int32> {
        buffer.address.assumingMemoryBound(to: Int32.self)
    }
}

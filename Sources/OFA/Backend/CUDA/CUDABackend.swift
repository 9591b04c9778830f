// The engine on an NVIDIA GPU: every tensor in device memory, the products through cuBLAS (strict float32 by
// default, TF32 when asked), the rest through the kernels of CUDAKernels, all queued in order on one GPUQueue. The
// host sends inputs and reads results; nothing else crosses. Operations cannot throw (Backend's contract), so the
// first CUDA failure is kept for the caller to take after a request (`takeFailure`).
import Foundation

public final class CUDABackend: Backend, @unchecked Sendable {
    public let name = "cuda"
    public let precision: Precision
    public let threads = 1
    public let queue: GPUQueue
    private let lock = NSLock()
    private let queueLock = NSLock()
    private var firstFailure: CUDAError?
    /// The GPU, libraries and memory, for status (nil on a queue that is not a GPU's).
    public internal(set) var report: CUDADeviceReport?

    /// Precisions a GPU offers: strict float32 and TF32 products.
    public static let offeredPrecisions: [Precision] = [.float32, .tensorFloat32]

    /// Throws BackendError.unsupportedPrecision for a precision a GPU does not offer (bf16 is the CPU's).
    public static func check(_ precision: Precision) throws {
        guard !offeredPrecisions.contains(precision) else { return }
        throw BackendError.unsupportedPrecision(
            precision, backend: "cuda", offered: offeredPrecisions, reason: "\(precision.rawValue) is a CPU precision")
    }

    public init(queue: GPUQueue, precision: Precision) throws {
        try CUDABackend.check(precision)
        self.queue = queue
        self.precision = precision
    }

    /// The first failure since the last call, cleared.
    public func takeFailure() -> CUDAError? {
        lock.lock()
        defer { lock.unlock() }
        defer { firstFailure = nil }
        return firstFailure
    }

    /// Runs `body` (queue calls) alone, so that requests on several threads take turns at the one stream and
    /// cuBLAS handle (each operation's inputs were queued before it, so the stream's order keeps every request's
    /// results right), keeping the first failure. After a failure nothing more is queued until `takeFailure`: an
    /// allocation that failed left a placeholder no kernel may touch, so the device's context stays sound and the
    /// next request runs normally.
    func run(_ body: () throws(CUDAError) -> Void) {
        queueLock.lock()
        defer { queueLock.unlock() }
        guard lock.withLock({ firstFailure == nil }) else { return }
        do throws(CUDAError) {
            try body()
        } catch {
            lock.lock()
            if firstFailure == nil { firstFailure = error }
            lock.unlock()
        }
    }

    // MARK: Memory

    func address(_ tensor: Tensor) -> UInt64 { UInt64(UInt(bitPattern: tensor.buffer.address)) }
    func address(_ tensor: Tensor?) -> KernelArgument { tensor.map { .address(address($0)) } ?? .null }

    /// Uninitialised device memory for `shape`; a failed allocation leaves a host placeholder of the same size and the
    /// failure (nothing is queued after a failure, so no kernel ever sees the placeholder).
    func empty(_ shape: [Int], _ type: ElementType = .float32, layout: (any AnyObject & Sendable)? = nil) -> Tensor {
        let bytes = max(shape.reduce(1, *), 1) * type.byteCount
        let queue = self.queue
        var address: UInt64 = 0
        run { () throws(CUDAError) in address = try queue.allocate(bytes) }
        if address == 0 {
            let placeholder = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            return Tensor(
                shape: shape, elementType: type,
                buffer: DeviceBuffer(address: placeholder, byteCount: bytes) { $0.deallocate() }, layout: layout)
        }
        let buffer = DeviceBuffer(address: UnsafeMutableRawPointer(bitPattern: UInt(address))!, byteCount: bytes) {
            queue.release(UInt64(UInt(bitPattern: $0)))
        }
        return Tensor(shape: shape, elementType: type, buffer: buffer, layout: layout)
    }

    public func makeTensor(shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> Tensor {
        var host = [Float](repeating: 0, count: shape.reduce(1, *))
        try host.withUnsafeMutableBufferPointer { try fill($0) }
        let tensor = empty(shape)
        host.withUnsafeBytes { upload($0, to: tensor) }
        return tensor
    }

    /// Host bytes into a tensor just made.
    func upload(_ bytes: UnsafeRawBufferPointer, to tensor: Tensor) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        run { () throws(CUDAError) in try queue.upload(base, count: bytes.count, to: address(tensor)) }
    }

    /// The largest index, kept with an index tensor so gathers can be checked on the host.
    final class IndexRange: Sendable {
        let maximum: Int32
        init(maximum: Int32) { self.maximum = maximum }
    }

    public func makeIndices(shape: [Int], values: [Int32]) -> Tensor {
        precondition(values.count == shape.reduce(1, *), "\(values.count) indices for shape \(shape)")
        precondition(values.allSatisfy { $0 >= 0 }, "negative index")
        let tensor = empty(shape, .int32, layout: IndexRange(maximum: values.max() ?? -1))
        values.withUnsafeBytes { upload($0, to: tensor) }
        return tensor
    }

    public func zeros(shape: [Int]) -> Tensor {
        let tensor = empty(shape)
        run { () throws(CUDAError) in try queue.fill(address(tensor), word: 0, count: tensor.count) }
        return tensor
    }

    public func read(_ tensor: Tensor) -> [Float] { read(tensor, offset: 0, count: tensor.count) }

    public func read(_ tensor: Tensor, offset: Int, count: Int) -> [Float] {
        precondition(tensor.elementType == .float32, "read: float tensors only")
        precondition(offset >= 0 && count >= 0 && offset + count <= tensor.count, "read outside the tensor")
        var host = [Float](repeating: 0, count: count)
        guard count > 0 else { return host }
        host.withUnsafeMutableBytes { bytes in
            run { () throws(CUDAError) in
                try queue.download(address(tensor) + UInt64(offset * 4), count: count * 4, into: bytes.baseAddress!)
            }
        }
        return host
    }

    public func withWorkspace<T>(bytes: Int, keepingFor seconds: Double, _ body: () throws -> T) rethrows -> T {
        try body()
    }

    // MARK: Weights

    public func prepareProductWeight(_ weight: Tensor) -> Tensor { weight }
    public func prepareTable(_ table: Tensor) -> Tensor { table }

    /// Marks a convolution weight reordered to ofa_im2col's (ky, kx, c) columns.
    final class ChannelsLast: Sendable {}

    public func prepareConvolutionWeight(
        _ weight: Tensor, inputs: Int, geometry: ConvolutionGeometry, inputSide: Int
    ) -> Tensor {
        let outputs = weight.shape[0]
        precondition(weight.shape == [outputs, inputs * geometry.kernel * geometry.kernel], "weight \(weight.shape)")
        let reordered = CUDAKernels.channelsLastWeight(
            read(weight), outputs: outputs, channels: inputs, kernel: geometry.kernel)
        let tensor = makeTensor(shape: weight.shape, values: reordered)
        return Tensor(shape: weight.shape, buffer: tensor.buffer, layout: ChannelsLast())
    }

    // MARK: Launching

    /// Launches `kernel` over `count` threads in blocks of CUDAKernels.blockThreads.
    func launch(_ kernel: String, over count: Int, _ arguments: [KernelArgument]) {
        guard count > 0 else { return }
        let threads = CUDAKernels.blockThreads
        run { () throws(CUDAError) in
            try queue.launch(kernel, blocks: (count + threads - 1) / threads, threads: threads, arguments)
        }
    }

    /// Launches a row kernel over `rows` rows.
    func launch(_ kernel: String, rows: Int, _ arguments: [KernelArgument]) {
        launch(kernel, over: rows * queue.rowLanes, arguments)
    }

    func copy(_ from: UInt64, to: UInt64, count: Int) {
        guard count > 0 else { return }
        run { () throws(CUDAError) in try queue.copy(from, to: to, count: count * 4) }
    }

    // MARK: Elementwise and data movement

    public func layerNorm(_ input: Tensor, weight: Tensor, bias: Tensor, epsilon: Float) -> Tensor {
        let width = input.shape.last!
        let output = empty(input.shape)
        launch(
            "ofa_layer_norm", rows: input.count / width,
            [
                address(input), address(output), .long(input.count / width), .long(width), address(weight),
                address(bias), .float(epsilon),
            ])
        return output
    }

    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.count == b.count, "add: \(a.shape) vs \(b.shape)")
        let output = empty(a.shape)
        launch("ofa_add", over: a.count, [address(output), address(a), address(b), .long(a.count)])
        return output
    }

    public func addRow(_ input: Tensor, row: Tensor, scale: Float) -> Tensor {
        let output = empty(input.shape)
        launch(
            "ofa_add_row", over: input.count,
            [
                address(output), address(input), address(row), .float(scale), .long(input.count / row.count),
                .long(row.count),
            ])
        return output
    }

    public func scaleInPlace(_ tensor: Tensor, by factor: Float) {
        launch("ofa_scale", over: tensor.count, [address(tensor), .float(factor), .long(tensor.count)])
    }

    public func attentionSoftmaxInPlace(_ scores: Tensor, bias: AttentionBias, causal: Bool) {
        precondition(
            bias.absolute.shape == scores.shape, "softmax: scores \(scores.shape), bias \(bias.absolute.shape)")
        let (heads, queries, keys) = (scores.shape[0], scores.shape[1], scores.shape[2])
        for term in bias.relative {
            let (rows, columns) = (term.buckets.shape[0], term.buckets.shape[1])
            term.checkFits(heads: heads, queries: queries, keys: keys)
            precondition(
                ((term.buckets.layout as? IndexRange)?.maximum ?? -1) < term.table.shape[1], "bucket past the table")
            launch(
                "ofa_add_bucket_bias", over: heads * rows * columns,
                [
                    address(scores), .long(heads), .long(queries), .long(keys), address(term.table),
                    .long(term.table.shape[1]), address(term.buckets), .long(rows), .long(columns),
                    .long(term.rowOffset), .long(term.columnOffset),
                ])
        }
        launch(
            "ofa_attention_softmax", rows: heads * queries,
            [
                address(scores), address(bias.absolute), .long(heads), .long(queries), .long(keys), .long(0),
                .long(queries), .int(causal ? 1 : 0),
            ])
    }

    public func gatherRows(_ table: Tensor, indices: Tensor) -> Tensor {
        let width = table.shape[1]
        precondition(
            ((indices.layout as? IndexRange)?.maximum ?? -1) < table.shape[0], "gather: an index past the table")
        let output = empty([indices.count, width])
        launch(
            "ofa_gather_rows", over: indices.count * width,
            [address(output), address(table), address(indices), .long(indices.count), .long(width)])
        return output
    }

    public func concatenateRows(_ a: Tensor, _ b: Tensor) -> Tensor {
        let width = a.shape.last!
        precondition(b.shape.last == width, "concatenate: \(a.shape) and \(b.shape)")
        let output = empty([a.count / width + b.count / width, width])
        copy(address(a), to: address(output), count: a.count)
        copy(address(b), to: address(output) + UInt64(a.count * 4), count: b.count)
        return output
    }

    public func rows(_ input: Tensor, _ range: Range<Int>) -> Tensor {
        let width = input.shape.last!
        precondition(
            range.lowerBound >= 0 && range.upperBound <= input.count / width, "rows \(range) of \(input.shape)")
        let output = empty([range.count, width])
        copy(address(input) + UInt64(range.lowerBound * width * 4), to: address(output), count: range.count * width)
        return output
    }

    public func transpose(_ input: Tensor) -> Tensor {
        precondition(input.rank == 2, "transpose: \(input.shape)")
        let output = empty([input.shape[1], input.shape[0]])
        launch(
            "ofa_transpose", over: input.count,
            [address(output), address(input), .long(input.shape[0]), .long(input.shape[1])])
        return output
    }

    public func copy(_ input: Tensor) -> Tensor {
        let output = empty(input.shape)
        copy(address(input), to: address(output), count: input.count)
        return output
    }

    /// ofa_epilogue's activation codes.
    static func code(_ activation: Activation) -> Int32 {
        switch activation {
        case .none: 0
        case .relu: 1
        case .gelu: 2
        }
    }

    /// In place: + bias[j] + residual, then the activation, over rows of `width`.
    func epilogue(_ x: Tensor, width: Int, bias: Tensor?, residual: Tensor?, activation: Activation) {
        guard bias != nil || residual != nil || activation != .none else { return }
        launch(
            "ofa_epilogue", over: x.count,
            [
                address(x), address(bias), address(residual), .long(x.count / width), .long(width),
                .int(CUDABackend.code(activation)),
            ])
    }

    public func activate(_ input: Tensor, _ activation: Activation) -> Tensor {
        let output = copy(input)
        epilogue(output, width: input.shape.last ?? 1, bias: nil, residual: nil, activation: activation)
        return output
    }

    public func maxPool(_ input: Tensor, geometry: ConvolutionGeometry) -> Tensor {
        let (height, width, channels) = (input.shape[0], input.shape[1], input.shape[2])
        let (outHeight, outWidth) = (geometry.outputSize(height), geometry.outputSize(width))
        let output = empty([outHeight, outWidth, channels])
        launch(
            "ofa_max_pool", over: output.count,
            [
                address(output), address(input), .long(height), .long(width), .long(channels), .long(geometry.kernel),
                .long(geometry.stride), .long(geometry.padding), .long(outHeight), .long(outWidth),
            ])
        return output
    }

    public func zeroNaNInPlace(_ tensor: Tensor) {
        launch("ofa_zero_nan", over: tensor.count, [address(tensor), .long(tensor.count)])
    }
}

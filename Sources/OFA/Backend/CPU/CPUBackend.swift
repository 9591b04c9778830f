// The CPU backend: oneDNN for matrix products and convolutions (OneDNN.swift, through CPUBackend+Products.swift),
// vectorised C kernels (CKernels) for the softmax and LayerNorm, plain loops for the rest, all on OpenMP's threads.
// Float32
// by default; in bfloat16 precision the weights are stored as bfloat16 and every product and convolution reads
// bfloat16 inputs (float32 accumulation and outputs), while LayerNorm, softmax and residuals stay float32.
import CKernels
import Foundation

public final class CPUBackend: Backend, @unchecked Sendable {
    public let name = "cpu"
    public let threads: Int
    public let precision: Precision
    /// 192 MB idle holds a whole OFA-large query's activations (the ResNet's sharing the encoder's size classes):
    /// later queries map nothing afresh, where 64 MB mapped ~180 MB per query, 0.3–0.7 s per GB to clear here.
    let pool = BufferPool(capacity: 192 << 20)
    let library: OneDNN
    private let counterLock = NSLock()
    private var operations = 0

    /// The oneDNN implementation and shape of every primitive made so far (for tests: never `ref:` code).
    var primitiveImplementations: [String] { library.implementations }

    /// Floating-point operations (2 per multiply-add) of every product and convolution run so far.
    public var productOperations: Int {
        counterLock.lock()
        defer { counterLock.unlock() }
        return operations
    }

    func count(_ multiplyAdds: Int) {
        counterLock.lock()
        operations += 2 * multiplyAdds
        counterLock.unlock()
    }

    /// GFLOP/s of this backend's product on the model's largest shape (914 × 1024 · 1024 × 4096, OFA-large's
    /// feed-forward), best of `repeats` after a warm-up.
    public func productRate(repeats: Int = 10) -> Double {
        let input = zeros(shape: [914, 1024])
        let weight = prepareProductWeight(zeros(shape: [4096, 1024]))
        _ = linear(input, weight: weight, bias: nil, activation: .none)
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = linear(input, weight: weight, bias: nil, activation: .none)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2 * 914 * 1024 * 4096 / best / 1e9
    }

    /// The precisions this machine's CPU offers (bfloat16 where oneDNN finds AVX512-BF16 or AMX).
    public static var offeredPrecisions: [Precision] { OneDNN.hasBFloat16 ? [.float32, .bfloat16] : [.float32] }

    /// The instruction set the products and convolutions run on, as oneDNN names it.
    public static var instructionSet: String { OneDNN.instructionSet }

    /// `threads` sets oneDNN's (OpenMP's) and the elementwise kernels' thread count for the whole process.
    /// Stops the process where oneDNN cannot run (see `init(threads:precision:)`, which throws instead).
    public convenience init(threads: Int = 0) {
        try! self.init(threads: threads, precision: .float32)
    }

    /// Throws BackendError.unsupportedPrecision, saying why, where this CPU does not offer `precision`.
    public static func check(_ precision: Precision) throws {
        guard !offeredPrecisions.contains(precision) else { return }
        let reason =
            precision == .bfloat16
            ? "this CPU has no AVX512-BF16 or AMX (oneDNN finds \(OneDNN.instructionSet))"
            : "\(precision.rawValue) is a GPU precision"
        throw BackendError.unsupportedPrecision(precision, backend: "cpu", offered: offeredPrecisions, reason: reason)
    }

    /// Refuses a precision this CPU does not offer.
    public init(threads: Int = 0, precision: Precision) throws {
        try CPUBackend.check(precision)
        let count = threads > 0 ? threads : max(1, ProcessInfo.processInfo.activeProcessorCount)
        pool.populatingThreads = count
        library = OneDNN(threads: count, pool: pool)
        guard library.canGenerateKernels() else {
            throw BackendError.unavailable(
                backend: "cpu",
                reason:
                    "oneDNN cannot make its run-time generated kernels (writable-then-executable memory denied, e.g. "
                    + "by systemd's MemoryDenyWriteExecute=yes)")
        }
        self.threads = OneDNN.threads
        self.precision = precision
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

    public func read(_ tensors: [Tensor]) -> [[Float]] { tensors.map(read) }

    public func read(_ tensor: Tensor, offset: Int, count: Int) -> [Float] {
        precondition(offset >= 0 && offset + count <= tensor.count, "read outside the tensor")
        return Array(UnsafeBufferPointer(start: tensor.floats + offset, count: count))
    }

    public func withWorkspace<T>(bytes: Int, keepingFor seconds: Double, _ body: () throws -> T) rethrows -> T {
        try pool.widened(by: bytes, keepingFor: seconds, body)
    }

    // MARK: Weights

    /// In bfloat16 precision the weight is packed in oneDNN's blocked layout (its bfloat16 products run ~1.5×
    /// faster on weights read from memory than on the plain layout; float32 ones gain little, BENCHMARKS.md), which
    /// the gradients unpack per product; in float32 it stays as it is.
    public func prepareProductWeight(_ weight: Tensor) -> Tensor {
        precondition(weight.elementType == .float32 && weight.shape.count == 2, "product weight \(weight.shape)")
        guard precision == .bfloat16 else { return weight }
        let type = OneDNN.DataType.bfloat16
        let pool = self.pool
        var bytes = 0
        let (packed, address) = library.packMatmulWeight(
            weight.floats, n: weight.shape[0], k: weight.shape[1], type: type
        ) { count in
            bytes = count
            return pool.take(count)
        }
        let size = bytes
        let buffer = DeviceBuffer(address: address, byteCount: size) { pool.give($0, bytes: size) }
        return Tensor(shape: weight.shape, elementType: .bfloat16, buffer: buffer, layout: packed)
    }

    public func prepareTable(_ table: Tensor) -> Tensor { lowered(table) }

    /// `tensor` as the products read it: a bfloat16 copy in bfloat16 precision, else itself.
    func lowered(_ tensor: Tensor) -> Tensor {
        guard precision == .bfloat16, tensor.elementType == .float32 else { return tensor }
        let result = Tensor(shape: tensor.shape, elementType: .bfloat16, buffer: allocate(tensor.count, .bfloat16))
        library.convertToBFloat16(tensor.floats, into: result.buffer.address, count: tensor.count)
        return result
    }

    /// A product weight in its plain `[out, in]` layout: itself, or unpacked into a new tensor of its type.
    func plain(_ weight: Tensor) -> Tensor {
        guard let packed = weight.layout as? OneDNN.PackedWeight else { return weight }
        let result = Tensor(
            shape: weight.shape, elementType: weight.elementType, buffer: allocate(weight.count, weight.elementType))
        library.unpack(
            packed, UnsafeRawPointer(weight.buffer.address), n: weight.shape[0], k: weight.shape[1],
            into: result.buffer.address)
        return result
    }

    public func prepareConvolutionWeight(
        _ weight: Tensor, inputs: Int, geometry: ConvolutionGeometry, inputSide: Int
    ) -> Tensor {
        let outputs = weight.shape[0]
        precondition(weight.shape == [outputs, inputs * geometry.kernel * geometry.kernel], "weight \(weight.shape)")
        var bytes = 0
        let (packed, address) = library.packConvolutionWeight(
            weight.floats, outputs: outputs, channels: inputs, kernel: geometry.kernel, stride: geometry.stride,
            padding: geometry.padding, type: precision == .bfloat16 ? .bfloat16 : .float32, side: inputSide
        ) { count in
            bytes = max(count, weight.count * (precision == .bfloat16 ? 2 : 4))
            return BufferPool.allocateAligned(bytes)
        }
        let type: ElementType = packed.type == .bfloat16 ? .bfloat16 : .float32
        let buffer = DeviceBuffer(address: address, byteCount: bytes) {
            free($0)
        }
        if packed.type == .bfloat16 {
            packed.residual = convolutionResidual(weight, inputs: inputs, geometry: geometry, inputSide: inputSide)
        }
        return Tensor(shape: weight.shape, elementType: type, buffer: buffer, layout: packed)
    }

    /// What rounding a convolution weight to bfloat16 leaves out (w − bfloat16(w), written over the weight, which is
    /// the backend's), itself in bfloat16 and packed the same way: the two add up to the weight within 2⁻¹⁷ of it,
    /// for convolutions with float32 inputs.
    private func convolutionResidual(
        _ weight: Tensor, inputs: Int, geometry: ConvolutionGeometry, inputSide: Int
    ) -> DeviceBuffer {
        let values = weight.floats
        // Rounded by oneDNN itself, as the packing rounds the weight.
        let rounded = UnsafeMutablePointer<UInt16>.allocate(capacity: weight.count)
        defer { rounded.deallocate() }
        library.convertToBFloat16(values, into: rounded, count: weight.count)
        for i in 0..<weight.count where values[i].isFinite { values[i] -= BFloat16.value(rounded[i]) }
        var bytes = 0
        let (_, address) = library.packConvolutionWeight(
            values, outputs: weight.shape[0], channels: inputs, kernel: geometry.kernel, stride: geometry.stride,
            padding: geometry.padding, type: .bfloat16, side: inputSide
        ) { count in
            bytes = count
            return BufferPool.allocateAligned(count)
        }
        return DeviceBuffer(address: address, byteCount: bytes) { free($0) }
    }

    // MARK: Elementwise

    public func layerNorm(_ input: Tensor, weight: Tensor, bias: Tensor, epsilon: Float) -> Tensor {
        let width = input.shape.last!
        let output = empty(input.shape)
        ofa_layer_norm(
            input.floats, output.floats, input.count / width, width, weight.floats, bias.floats, epsilon, Int32(threads)
        )
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

    public func layerNormInPlace(_ tensor: Tensor, weight: Tensor, bias: Tensor, epsilon: Float) {
        let width = tensor.shape.last!
        // The kernel reads each row whole (its moments) before writing it, element by element.
        ofa_layer_norm(
            tensor.floats, tensor.floats, tensor.count / width, width, weight.floats, bias.floats, epsilon,
            Int32(threads))
    }

    /// `a += b` elementwise, over the threads.
    public func addInPlace(_ a: Tensor, _ b: Tensor) {
        precondition(a.count == b.count, "add: \(a.shape) vs \(b.shape)")
        let x = a.floats
        let y = b.floats
        let chunk = 16_384
        parallel((a.count + chunk - 1) / chunk, cost: chunk) { range in
            for i in (range.lowerBound * chunk)..<min(a.count, range.upperBound * chunk) { x[i] += y[i] }
        }
    }

    public func addRow(_ input: Tensor, row: Tensor, scale: Float) -> Tensor {
        let width = row.count
        let rows = input.count / width
        let output = empty(input.shape)
        let x = input.floats
        let r = row.floats
        let z = output.floats
        parallel(rows, cost: width) { range in
            for i in range {
                for j in 0..<width { z[i * width + j] = x[i * width + j] * scale + r[j] }
            }
        }
        return output
    }

    public func scaleInPlace(_ tensor: Tensor, by factor: Float) {
        let x = tensor.floats
        let chunk = 16_384
        parallel((tensor.count + chunk - 1) / chunk, cost: chunk) { range in
            for i in (range.lowerBound * chunk)..<min(tensor.count, range.upperBound * chunk) { x[i] *= factor }
        }
    }

    public func attentionSoftmaxInPlace(_ scores: Tensor, bias: AttentionBias, causal: Bool) {
        precondition(
            bias.absolute.shape == scores.shape, "softmax: scores \(scores.shape), bias \(bias.absolute.shape)")
        attentionSoftmax(scores.floats, rows: scores.shape[1], of: scores.shape, from: 0, bias: bias, causal: causal)
    }

    /// The softmax kernel over the query rows `first ..< first + rows` of scores shaped `whole` [H, T, S], held
    /// as `[H, rows, S]` at `block`.
    func attentionSoftmax(
        _ block: UnsafeMutablePointer<Float>, rows: Int, of whole: [Int], from first: Int, bias: AttentionBias,
        causal: Bool
    ) {
        let heads = whole[0]
        let queries = whole[1]
        let keys = whole[2]
        let terms = bias.relative.map { term in
            term.checkFits(heads: heads, queries: queries, keys: keys)
            return ofa_bucket_bias(
                table: term.table.floats, table_size: term.table.shape[1], buckets: term.buckets.indices,
                rows: term.buckets.shape[0],
                columns: term.buckets.shape[1], row_offset: term.rowOffset, column_offset: term.columnOffset)
        }
        ofa_attention_softmax(
            block, heads, rows, keys, first, queries, bias.absolute.floats, terms, Int32(terms.count), causal ? 1 : 0,
            Int32(threads))
    }

    public func gatherRows(_ table: Tensor, indices: Tensor) -> Tensor {
        let width = table.shape[1]
        let count = indices.count
        let output = empty([count, width])
        for i in 0..<count {
            let row = Int(indices.indices[i])
            precondition(row >= 0 && row < table.shape[0], "row \(row) outside a table of \(table.shape[0])")
        }
        parallel(count, cost: width) { range in
            for i in range {
                let row = Int(indices.indices[i])
                if table.elementType == .bfloat16 {
                    BFloat16.expand(table.bfloat16s + row * width, into: output.floats + i * width, count: width)
                } else {
                    (output.floats + i * width).update(from: table.floats + row * width, count: width)
                }
            }
        }
        return output
    }

    public func concatenateRows(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape[1] == b.shape[1], "concatenate: \(a.shape) vs \(b.shape)")
        let output = empty([a.shape[0] + b.shape[0], a.shape[1]])
        copyElements(from: a.floats, to: output.floats, count: a.count)
        copyElements(from: b.floats, to: output.floats + a.count, count: b.count)
        return output
    }

    public func rows(_ input: Tensor, _ range: Range<Int>) -> Tensor {
        let width = input.count / input.shape[0]
        let output = empty([range.count] + input.shape.dropFirst())
        copyElements(from: input.floats + range.lowerBound * width, to: output.floats, count: range.count * width)
        return output
    }

    public func transpose(_ input: Tensor) -> Tensor {
        let output = empty([input.shape[1], input.shape[0]])
        library.transpose(input.floats, into: output.floats, rows: input.shape[0], columns: input.shape[1])
        return output
    }

    public func copy(_ input: Tensor) -> Tensor {
        let output = empty(input.shape)
        copyElements(from: input.floats, to: output.floats, count: input.count)
        return output
    }

    /// `count` floats from `source` to `target`, over the threads.
    func copyElements(from source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        let chunk = 65_536
        parallel((count + chunk - 1) / chunk, cost: chunk) { range in
            let start = range.lowerBound * chunk
            let end = min(count, range.upperBound * chunk)
            (target + start).update(from: source + start, count: end - start)
        }
    }

    // MARK: Threads

    /// Splits `count` items of `cost` elements each over the backend's threads (OpenMP's, which oneDNN's products
    /// use too) when there is enough work.
    func parallel(_ count: Int, cost: Int, _ body: (Range<Int>) -> Void) {
        let workers = threads == 1 || count * cost < 65_536 ? 1 : min(threads, count)
        if workers <= 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            var work = ParallelWork(count: count, body: body)
            withUnsafeMutablePointer(to: &work) { pointer in
                ofa_parallel(
                    Int32(workers),
                    { context, worker, workers in
                        let work = context!.assumingMemoryBound(to: ParallelWork.self).pointee
                        let count = work.count
                        work.body((count * Int(worker) / Int(workers))..<(count * (Int(worker) + 1) / Int(workers)))
                    }, pointer)
            }
        }
    }

    // MARK: Activations

    func apply(_ activation: Activation, _ line: UnsafeMutablePointer<Float>, _ count: Int) {
        switch activation {
        case .none: break
        case .relu: for j in 0..<count { line[j] = max(line[j], 0) }
        case .gelu: for j in 0..<count { line[j] = FastMath.gelu(line[j]) }
        }
    }
}

/// One `parallel` call as its C trampoline sees it.
private struct ParallelWork {
    let count: Int
    let body: (Range<Int>) -> Void
}

extension Tensor {
    /// Host pointer to the elements; valid for CPU-backend tensors only, used by the CPU backend's files only.
    var floats: UnsafeMutablePointer<Float> {
        assert(elementType == .float32, "float32 elements of a \(elementType) tensor")
        return buffer.address.assumingMemoryBound(to: Float.self)
    }

    /// Host pointer to bfloat16 elements (their bits).
    var bfloat16s: UnsafeMutablePointer<UInt16> {
        assert(elementType == .bfloat16, "bfloat16 elements of a \(elementType) tensor")
        return buffer.address.assumingMemoryBound(to: UInt16.self)
    }

    var indices: UnsafeMutablePointer<Int32> {
        buffer.address.assumingMemoryBound(to: Int32.self)
    }
}

// oneDNN (Debian's libdnnl, what PyTorch uses on CPU) for the CPU backend's matrix products and convolutions: its
// brgemm kernels beat OpenBLAS on every product shape of the model and its direct channels-last convolutions beat
// im2col + sgemm (BENCHMARKS.md, "CPU engine"). The only file that imports CDNNL. Primitives are made once per
// shape and kept; each call brings its own scratchpad, so calls from several threads never share memory.
import CDNNL
import Foundation

final class OneDNN: @unchecked Sendable {
    enum DataType: Hashable {
        case float32, bfloat16

        var byteCount: Int { self == .float32 ? 4 : 2 }
        fileprivate var dnnl: dnnl_data_type_t { self == .float32 ? dnnl_f32 : dnnl_bf16 }
    }

    /// A batch of matrices in memory: element (b, i, j) at `address + (b·batch + i·row + j·column)` elements.
    struct Operand {
        var address: UnsafeRawPointer
        var type: DataType
        var batch: Int
        var row: Int
        var column: Int
        /// A weight in the blocked layout oneDNN chose for it (`packMatmulWeight`); the strides are then unused.
        var packed: PackedWeight? = nil
    }

    /// Convolution or product weights in the layout oneDNN chose for them (opaque), with the description of that
    /// layout.
    final class PackedWeight: @unchecked Sendable {
        fileprivate var layout: dnnl_memory_desc_t
        let type: DataType
        /// A bfloat16 convolution weight's rounding residual in the same layout (`CPUBackend`), added back when a
        /// convolution reads float32 inputs.
        var residual: DeviceBuffer?

        fileprivate init(layout: dnnl_memory_desc_t, type: DataType) {
            self.layout = layout
            self.type = type
        }

        var byteCount: Int { dnnl_memory_desc_get_size(&layout) }
    }

    private final class Primitive {
        let handle: dnnl_primitive_t
        let scratchpadBytes: Int
        var scratchpad: dnnl_memory_desc_t
        var weights: dnnl_memory_desc_t
        let implementation: String

        init(descriptor: dnnl_primitive_desc_t) {
            var primitive: dnnl_primitive_t?
            OneDNN.check(dnnl_primitive_create(&primitive, descriptor), "primitive")
            handle = primitive!
            scratchpad = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0).pointee
            scratchpadBytes = dnnl_memory_desc_get_size(&scratchpad)
            weights = dnnl_primitive_desc_query_md(descriptor, dnnl_query_weights_md, 0).pointee
            implementation = String(cString: ofa_dnnl_implementation(descriptor))
            dnnl_primitive_desc_destroy(descriptor)
        }

        deinit { dnnl_primitive_destroy(handle) }
    }

    private struct MatmulKey: Hashable {
        var batch, m, n, k: Int
        var a: [Int], b: [Int], c: [Int]
        var types: [DataType]
        var alpha: Float
        var accumulate: Bool
        var bias: Bool
        var activation: Activation
        var packed: Bool
    }

    private struct ConversionKey: Hashable {
        var count: Int
    }

    private struct TransposeKey: Hashable {
        var rows, columns: Int
    }

    private struct ConvolutionKey: Hashable {
        var channels, height, width, outputs: Int
        var kernel, stride, padding: Int
        var type: DataType
        var accumulate, relu: Bool
    }

    private let engine: dnnl_engine_t
    private let stream: dnnl_stream_t
    private let pool: BufferPool
    private let lock = NSLock()
    private var matmuls: [MatmulKey: Primitive] = [:]
    private var convolutions: [ConvolutionKey: Primitive] = [:]
    private var conversions: [ConversionKey: Primitive] = [:]
    private var transposes: [TransposeKey: Primitive] = [:]
    /// Every primitive made so far, as oneDNN names its implementation, with its shape.
    var implementations: [String] {
        lock.lock()
        defer { lock.unlock() }
        return made
    }
    private var made: [String] = []

    /// `threads`: OpenMP's (oneDNN's) thread count for the process.
    init(threads: Int, pool: BufferPool) {
        omp_set_num_threads(Int32(threads))
        var engine: dnnl_engine_t?
        OneDNN.check(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine")
        self.engine = engine!
        var stream: dnnl_stream_t?
        OneDNN.check(dnnl_stream_create(&stream, self.engine, dnnl_stream_default_flags.rawValue), "stream")
        self.stream = stream!
        self.pool = pool
    }

    deinit {
        matmuls.removeAll()
        transposes.removeAll()
        conversions.removeAll()
        convolutions.removeAll()
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }

    static var threads: Int { Int(omp_get_max_threads()) }

    /// Whether oneDNN can make a primitive here: it generates its kernels at run time, so a process denied
    /// writable-then-executable memory (systemd's MemoryDenyWriteExecute=yes) cannot run any.
    func canGenerateKernels() -> Bool {
        var operation = dnnl_matmul_desc_t()
        var a = memoryDescriptor([4, 4], .float32, strides: [4, 1])
        var b = a
        var c = a
        guard dnnl_matmul_desc_init(&operation, &a, &b, nil, &c) == dnnl_success else { return false }
        var descriptor: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&descriptor, &operation, nil, engine, nil) == dnnl_success else {
            return false
        }
        defer { dnnl_primitive_desc_destroy(descriptor) }
        var primitive: dnnl_primitive_t?
        guard dnnl_primitive_create(&primitive, descriptor) == dnnl_success else { return false }
        dnnl_primitive_destroy(primitive)
        return true
    }

    /// Whether this CPU runs oneDNN's bfloat16 kernels natively (AVX512-BF16 or AMX), checked at run time.
    static var hasBFloat16: Bool {
        let isa = dnnl_get_effective_cpu_isa().rawValue
        let bf16 = dnnl_cpu_isa_avx512_core_bf16.rawValue
        return isa & bf16 == bf16
    }

    /// The instruction set oneDNN dispatches to, as it names it (e.g. avx512_core_bf16).
    static var instructionSet: String {
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_avx512_core_amx: "avx512_core_amx"
        case dnnl_cpu_isa_avx512_core_bf16: "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_vnni: "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core: "avx512_core"
        case dnnl_cpu_isa_avx2_vnni: "avx2_vnni"
        case dnnl_cpu_isa_avx2: "avx2"
        case dnnl_cpu_isa_avx: "avx"
        default: "sse41"
        }
    }

    fileprivate static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        guard status == dnnl_success else { fatalError("oneDNN \(what()): status \(status.rawValue)") }
    }

    private func memoryDescriptor(_ dims: [Int], _ type: DataType, strides: [Int]) -> dnnl_memory_desc_t {
        var descriptor = dnnl_memory_desc_t()
        let shape = dims.map(Int64.init)
        let steps = strides.map(Int64.init)
        OneDNN.check(
            ofa_dnnl_memory_desc(&descriptor, Int32(dims.count), shape, type.dnnl, steps), "memory \(dims) \(strides)")
        return descriptor
    }

    private func attributes(alpha: Float = 1, sum: Bool, relu: Bool) -> dnnl_primitive_attr_t {
        attributes(alpha: alpha, sum: sum, activation: relu ? .relu : .none)
    }

    /// Scratchpad from the caller, then the output scale, the sum and the activation, in that order.
    private func attributes(alpha: Float = 1, sum: Bool, activation: Activation) -> dnnl_primitive_attr_t {
        var attributes: dnnl_primitive_attr_t?
        OneDNN.check(dnnl_primitive_attr_create(&attributes), "attributes")
        OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "scratchpad")
        if alpha != 1 {
            var scale = alpha
            OneDNN.check(dnnl_primitive_attr_set_output_scales(attributes, 1, 0, &scale), "output scale")
        }
        if sum || activation != .none {
            var operations: dnnl_post_ops_t?
            OneDNN.check(dnnl_post_ops_create(&operations), "post-ops")
            if sum { OneDNN.check(dnnl_post_ops_append_sum(operations, 1), "sum") }
            switch activation {
            case .none: break
            case .relu: OneDNN.check(dnnl_post_ops_append_eltwise(operations, 1, dnnl_eltwise_relu, 0, 0), "relu")
            case .gelu:
                OneDNN.check(dnnl_post_ops_append_eltwise(operations, 1, dnnl_eltwise_gelu_erf, 0, 0), "gelu")
            }
            OneDNN.check(dnnl_primitive_attr_set_post_ops(attributes, operations), "post-ops")
            dnnl_post_ops_destroy(operations)
        }
        return attributes!
    }

    private func execute(_ primitive: Primitive, _ arguments: [(Int32, dnnl_memory_desc_t, UnsafeRawPointer)]) {
        var memories: [dnnl_memory_t?] = []
        var list: [dnnl_exec_arg_t] = []
        var descriptors = arguments.map(\.1)
        for (index, argument) in arguments.enumerated() {
            var memory: dnnl_memory_t?
            OneDNN.check(
                dnnl_memory_create(&memory, &descriptors[index], engine, UnsafeMutableRawPointer(mutating: argument.2)),
                "memory")
            memories.append(memory)
            list.append(dnnl_exec_arg_t(arg: argument.0, memory: memory))
        }
        var scratchpad: UnsafeMutableRawPointer?
        if primitive.scratchpadBytes > 0 {
            let address = pool.take(primitive.scratchpadBytes)
            scratchpad = address
            var memory: dnnl_memory_t?
            OneDNN.check(dnnl_memory_create(&memory, &primitive.scratchpad, engine, address), "scratchpad memory")
            memories.append(memory)
            list.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: memory))
        }
        OneDNN.check(dnnl_primitive_execute(primitive.handle, stream, Int32(list.count), list), "execute")
        OneDNN.check(dnnl_stream_wait(stream), "wait")
        for memory in memories { dnnl_memory_destroy(memory) }
        if let scratchpad { pool.give(scratchpad, bytes: primitive.scratchpadBytes) }
    }

    // MARK: Matrix products

    /// Per batch entry b: `c[b] = activation(alpha · a[b] · b[b] + bias)` (`+ c[b]` before the activation when
    /// `accumulate`); a is m × k, b is k × n, bias n floats and c float32 m × n with rows `cRow` apart and entries
    /// `cBatch` apart. Both inputs of one type.
    func matmul(
        batch: Int, m: Int, n: Int, k: Int, a: Operand, b: Operand, c: UnsafeMutablePointer<Float>, cBatch: Int,
        cRow: Int, alpha: Float = 1, accumulate: Bool = false, bias: UnsafePointer<Float>? = nil,
        activation: Activation = .none
    ) {
        precondition(a.type == b.type, "matmul: inputs of one type")
        let key = MatmulKey(
            batch: batch, m: m, n: n, k: k, a: [batch > 1 ? a.batch : 0, a.row, a.column],
            b: [batch > 1 ? b.batch : 0, b.row, b.column],
            c: [batch > 1 ? cBatch : 0, cRow], types: [a.type], alpha: alpha, accumulate: accumulate,
            bias: bias != nil, activation: activation, packed: b.packed != nil)
        // A single matrix is described in two dimensions (a batch stride of 0 would send oneDNN to slow code).
        let batched = batch > 1
        let source = memoryDescriptor(
            batched ? [batch, m, k] : [m, k], a.type,
            strides: batched ? [a.batch, a.row, a.column] : [a.row, a.column])
        precondition(b.packed == nil || !batched, "matmul: a packed weight in a batch")
        let weights =
            b.packed?.layout
            ?? memoryDescriptor(
                batched ? [batch, k, n] : [k, n], b.type,
                strides: batched ? [b.batch, b.row, b.column] : [b.row, b.column])
        let destination = memoryDescriptor(
            batched ? [batch, m, n] : [m, n], .float32, strides: batched ? [cBatch, cRow, 1] : [cRow, 1])
        let biasLayout = memoryDescriptor(
            batched ? [1, 1, n] : [1, n], .float32, strides: batched ? [n, n, 1] : [n, 1])
        let primitive = cached(&matmuls, key) {
            var operation = dnnl_matmul_desc_t()
            var s = source
            var w = weights
            var d = destination
            var b = biasLayout
            let status =
                bias == nil
                ? dnnl_matmul_desc_init(&operation, &s, &w, nil, &d) : dnnl_matmul_desc_init(&operation, &s, &w, &b, &d)
            OneDNN.check(status, "matmul \(key)")
            let attributes = attributes(alpha: alpha, sum: accumulate, activation: activation)
            defer { dnnl_primitive_attr_destroy(attributes) }
            var descriptor: dnnl_primitive_desc_t?
            OneDNN.check(dnnl_primitive_desc_create(&descriptor, &operation, attributes, engine, nil), "matmul \(key)")
            return Primitive(descriptor: descriptor!)
        }
        var arguments = [
            (DNNL_ARG_SRC, source, a.address), (DNNL_ARG_WEIGHTS, weights, b.address),
            (DNNL_ARG_DST, destination, UnsafeRawPointer(c)),
        ]
        if let bias { arguments.append((DNNL_ARG_BIAS, biasLayout, UnsafeRawPointer(bias))) }
        execute(primitive, arguments)
    }

    /// Packs float32 `plain [n, k]` (a linear layer's `[out, in]`) as the `k × n` right operand of products, in the
    /// blocked layout oneDNN's matmul wants for it in `type` (the same for every row count m, so one packing serves
    /// the encoder's and the decoder's products).
    func packMatmulWeight(
        _ plain: UnsafePointer<Float>, n: Int, k: Int, type: DataType, into allocate: (Int) -> UnsafeMutableRawPointer
    ) -> (PackedWeight, UnsafeMutableRawPointer) {
        var source = memoryDescriptor([1024, k], type, strides: [k, 1])
        var weights = dnnl_memory_desc_t()
        var shape: [Int64] = [Int64(k), Int64(n)]
        OneDNN.check(ofa_dnnl_memory_desc_any(&weights, 2, &shape, type.dnnl), "weights")
        var destination = memoryDescriptor([1024, n], .float32, strides: [n, 1])
        var operation = dnnl_matmul_desc_t()
        OneDNN.check(dnnl_matmul_desc_init(&operation, &source, &weights, nil, &destination), "matmul weight \(k)×\(n)")
        var descriptor: dnnl_primitive_desc_t?
        OneDNN.check(dnnl_primitive_desc_create(&descriptor, &operation, nil, engine, nil), "matmul weight")
        let layout = dnnl_primitive_desc_query_md(descriptor, dnnl_query_weights_md, 0).pointee
        dnnl_primitive_desc_destroy(descriptor)
        let packed = PackedWeight(layout: layout, type: type)
        let address = allocate(packed.byteCount)
        reorder(
            from: memoryDescriptor([k, n], .float32, strides: [1, k]), UnsafeRawPointer(plain), to: packed.layout,
            address)
        return (packed, address)
    }

    /// A packed product weight back in its plain `[n, k]` layout, in its own type (for the gradients' products).
    func unpack(
        _ weight: PackedWeight, _ address: UnsafeRawPointer, n: Int, k: Int, into plain: UnsafeMutableRawPointer
    ) {
        reorder(from: weight.layout, address, to: memoryDescriptor([k, n], weight.type, strides: [1, k]), plain)
    }

    // MARK: Conversion

    /// `count` floats rounded to bfloat16 (nearest, ties to even), by oneDNN's vectorised reorder.
    func convertToBFloat16(_ source: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer, count: Int) {
        cachedReorder(
            &conversions, ConversionKey(count: count), from: memoryDescriptor([count], .float32, strides: [1]),
            UnsafeRawPointer(source), to: memoryDescriptor([count], .bfloat16, strides: [1]), destination)
    }

    /// `destination [columns, rows] = sourceᵀ` for a float32 `source [rows, columns]`, by oneDNN's reorder.
    func transpose(
        _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, rows: Int, columns: Int
    ) {
        cachedReorder(
            &transposes, TransposeKey(rows: rows, columns: columns),
            from: memoryDescriptor([rows, columns], .float32, strides: [columns, 1]), UnsafeRawPointer(source),
            to: memoryDescriptor([rows, columns], .float32, strides: [1, rows]), UnsafeMutableRawPointer(destination))
    }

    /// A reorder made once per key and kept (the per-call conversions and transposes).
    private func cachedReorder<Key: Hashable>(
        _ table: inout [Key: Primitive], _ key: Key, from source: dnnl_memory_desc_t, _ input: UnsafeRawPointer,
        to destination: dnnl_memory_desc_t, _ output: UnsafeMutableRawPointer
    ) {
        let primitive = cached(&table, key) {
            var s = source
            var d = destination
            var descriptor: dnnl_primitive_desc_t?
            let attributes = attributes(sum: false, relu: false)
            defer { dnnl_primitive_attr_destroy(attributes) }
            OneDNN.check(
                dnnl_reorder_primitive_desc_create(&descriptor, &s, engine, &d, engine, attributes), "reorder \(key)")
            return Primitive(descriptor: descriptor!)
        }
        execute(
            primitive, [(DNNL_ARG_FROM, source, input), (DNNL_ARG_TO, destination, UnsafeRawPointer(output))])
    }

    // MARK: Convolutions

    private func convolutionPrimitive(_ key: ConvolutionKey) -> Primitive {
        cached(&convolutions, key) {
            let outHeight = (key.height + 2 * key.padding - key.kernel) / key.stride + 1
            let outWidth = (key.width + 2 * key.padding - key.kernel) / key.stride + 1
            var source = channelsLast(key.channels, key.height, key.width, key.type)
            var weights = dnnl_memory_desc_t()
            var weightShape: [Int64] = [key.outputs, key.channels, key.kernel, key.kernel].map(Int64.init)
            OneDNN.check(ofa_dnnl_memory_desc_any(&weights, 4, &weightShape, key.type.dnnl), "weights")
            var bias = memoryDescriptor([key.outputs], .float32, strides: [1])
            var destination = channelsLast(key.outputs, outHeight, outWidth, .float32)
            var operation = dnnl_convolution_desc_t()
            OneDNN.check(
                ofa_dnnl_convolution_desc(
                    &operation, &source, &weights, &bias, &destination, Int64(key.stride), Int64(key.padding)),
                "convolution \(key)")
            let attributes = attributes(sum: key.accumulate, relu: key.relu)
            defer { dnnl_primitive_attr_destroy(attributes) }
            var descriptor: dnnl_primitive_desc_t?
            OneDNN.check(
                dnnl_primitive_desc_create(&descriptor, &operation, attributes, engine, nil), "convolution \(key)")
            return Primitive(descriptor: descriptor!)
        }
    }

    /// `[1, C, H, W]` stored as H × W × C.
    private func channelsLast(_ channels: Int, _ height: Int, _ width: Int, _ type: DataType) -> dnnl_memory_desc_t {
        memoryDescriptor(
            [1, channels, height, width], type, strides: [height * width * channels, 1, width * channels, channels])
    }

    /// Packs `plain [O, C, k, k]` float32 weights into the layout oneDNN's convolution over a `side × side` input
    /// wants (`convolution` repacks them per call for another input whose layout differs).
    func packConvolutionWeight(
        _ plain: UnsafePointer<Float>, outputs: Int, channels: Int, kernel: Int, stride: Int, padding: Int,
        type: DataType, side: Int, into allocate: (Int) -> UnsafeMutableRawPointer
    ) -> (PackedWeight, UnsafeMutableRawPointer) {
        let primitive = convolutionPrimitive(
            ConvolutionKey(
                channels: channels, height: side, width: side, outputs: outputs, kernel: kernel, stride: stride,
                padding: padding, type: type, accumulate: false, relu: false))
        let packed = PackedWeight(layout: primitive.weights, type: type)
        let address = allocate(packed.byteCount)
        let source = memoryDescriptor(
            [outputs, channels, kernel, kernel], .float32,
            strides: [channels * kernel * kernel, kernel * kernel, kernel, 1])
        reorder(from: source, UnsafeRawPointer(plain), to: packed.layout, address)
        return (packed, address)
    }

    /// `output = input` in another layout or type (`output += input` when `accumulate`).
    private func reorder(
        from source: dnnl_memory_desc_t, _ input: UnsafeRawPointer, to destination: dnnl_memory_desc_t,
        _ output: UnsafeMutableRawPointer, accumulate: Bool = false
    ) {
        var s = source
        var d = destination
        var descriptor: dnnl_primitive_desc_t?
        let attributes = attributes(sum: accumulate, relu: false)
        defer { dnnl_primitive_attr_destroy(attributes) }
        OneDNN.check(dnnl_reorder_primitive_desc_create(&descriptor, &s, engine, &d, engine, attributes), "reorder")
        let primitive = Primitive(descriptor: descriptor!)
        execute(primitive, [(DNNL_ARG_FROM, source, input), (DNNL_ARG_TO, destination, UnsafeRawPointer(output))])
    }

    /// `output [H', W', O] = input [H, W, C] ⊛ weight + bias` (`+ output` when `accumulate`, then ReLU when `relu`);
    /// input of `inputType`, output float32. A weight packed in another type or layout is reordered for the call.
    func convolution(
        input: UnsafeRawPointer, channels: Int, height: Int, width: Int, weight: PackedWeight,
        weightAddress: UnsafeRawPointer, outputs: Int, kernel: Int, stride: Int, padding: Int, inputType: DataType,
        bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, accumulate: Bool, relu: Bool
    ) {
        let key = ConvolutionKey(
            channels: channels, height: height, width: width, outputs: outputs, kernel: kernel, stride: stride,
            padding: padding, type: inputType, accumulate: accumulate, relu: relu)
        let primitive = convolutionPrimitive(key)
        var wanted = primitive.weights
        var weights = weightAddress
        var repacked: UnsafeMutableRawPointer?
        if dnnl_memory_desc_equal(&wanted, &weight.layout) == 0 {
            let bytes = dnnl_memory_desc_get_size(&wanted)
            let address = pool.take(bytes)
            reorder(from: weight.layout, weightAddress, to: wanted, address)
            if inputType == .float32, let residual = weight.residual {
                // float32 from bfloat16: the weight and its rounding residual, added.
                reorder(
                    from: weight.layout, UnsafeRawPointer(residual.address), to: wanted, address, accumulate: true)
            }
            weights = UnsafeRawPointer(address)
            repacked = address
        }
        let outHeight = (height + 2 * padding - kernel) / stride + 1
        let outWidth = (width + 2 * padding - kernel) / stride + 1
        execute(
            primitive,
            [
                (DNNL_ARG_SRC, channelsLast(channels, height, width, inputType), input),
                (DNNL_ARG_WEIGHTS, wanted, weights),
                (DNNL_ARG_BIAS, memoryDescriptor([outputs], .float32, strides: [1]), UnsafeRawPointer(bias)),
                (DNNL_ARG_DST, channelsLast(outputs, outHeight, outWidth, .float32), UnsafeRawPointer(output)),
            ])
        if let repacked { pool.give(repacked, bytes: dnnl_memory_desc_get_size(&wanted)) }
    }

    /// The implementation oneDNN picked for a convolution shape (for tests: never its slow reference code).
    func convolutionImplementation(
        channels: Int, side: Int, outputs: Int, kernel: Int, stride: Int, padding: Int, type: DataType
    ) -> String {
        convolutionPrimitive(
            ConvolutionKey(
                channels: channels, height: side, width: side, outputs: outputs, kernel: kernel, stride: stride,
                padding: padding, type: type, accumulate: false, relu: false)
        ).implementation
    }

    private func cached<Key: Hashable>(_ table: inout [Key: Primitive], _ key: Key, make: () -> Primitive) -> Primitive
    {
        lock.lock()
        defer { lock.unlock() }
        if let primitive = table[key] { return primitive }
        let primitive = make()
        table[key] = primitive
        made.append("\(primitive.implementation) \(key)")
        return primitive
    }
}

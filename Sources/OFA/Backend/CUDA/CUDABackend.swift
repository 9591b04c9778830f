// The engine on an NVIDIA GPU: every tensor in device memory, the products through cuBLAS (strict float32 by
// default, TF32 when asked), the rest through the kernels of CUDAKernels. Each request runs on a lane of its own (a
// stream with its cuBLAS handle: one per daemon worker), its work queued there in order. The host sends inputs and
// reads results; nothing else crosses. Operations cannot throw (Backend's contract), so the first CUDA failure is
// kept for the caller to take after a request (`takeFailure`).
import Foundation

public final class CUDABackend: Backend, @unchecked Sendable {
    public let name = "cuda"
    public let precision: Precision
    public let threads = 1
    /// The first lane's queue: it also takes the work of threads that hold no lane (loading, the tests).
    public var queue: GPUQueue { lanes[0].queue }
    let lanes: [Lane]
    /// What names this backend in its lanes (a lane held in one backend is not held in another).
    private let identity = Identity()
    private final class Identity: Sendable {}
    /// Guards every lane's failure and `fault`.
    private let lock = NSLock()
    /// A failure that lost the device's context (CUDAError.losesContext): every lane reports it from then on.
    private var lostContext: CUDAError?
    private let idle = NSCondition()
    private var idleLanes: [Int]
    /// The lane the running thread holds (its request's), in whichever backend it belongs to.
    @TaskLocal static var heldLane: Lane?
    /// The arena the running thread loads weights into (`loadingWeights`), in whichever backend it belongs to.
    @TaskLocal static var loadingArena: WeightArena?
    /// The arenas of the weights loaded so far (each lives as long as one of its tensors does).
    private var arenas: [WeakArena] = []
    private struct WeakArena { weak var arena: WeightArena? }
    /// The GPU, libraries and memory, for status (nil on a queue that is not a GPU's).
    public internal(set) var report: CUDADeviceReport?

    /// One stream's share of the backend: its queue and the first failure of the work queued there.
    final class Lane: @unchecked Sendable {
        let queue: GPUQueue
        let owner: ObjectIdentifier
        /// Puts one operation at a time on the queue (a stream and a cuBLAS handle serve one thread at a time).
        let order = NSLock()
        var firstFailure: CUDAError?
        init(queue: GPUQueue, owner: ObjectIdentifier) {
            self.queue = queue
            self.owner = owner
        }
    }

    /// Precisions a GPU offers: strict float32 and TF32 products.
    public static let offeredPrecisions: [Precision] = [.float32, .tensorFloat32]

    /// Throws BackendError.unsupportedPrecision for a precision a GPU does not offer (bf16 is the CPU's).
    public static func check(_ precision: Precision) throws {
        guard !offeredPrecisions.contains(precision) else { return }
        throw BackendError.unsupportedPrecision(
            precision, backend: "cuda", offered: offeredPrecisions, reason: "\(precision.rawValue) is a CPU precision")
    }

    /// One lane per queue (the queues share one device and its memory).
    public init(queues: [GPUQueue], precision: Precision) throws {
        try CUDABackend.check(precision)
        precondition(!queues.isEmpty, "a CUDA backend needs a queue")
        self.precision = precision
        idleLanes = Array(queues.indices)
        let owner = ObjectIdentifier(identity)
        lanes = queues.map { Lane(queue: $0, owner: owner) }
    }

    public convenience init(queue: GPUQueue, precision: Precision) throws {
        try self.init(queues: [queue], precision: precision)
    }

    /// The lane the running thread holds in this backend, if it holds one.
    private var held: Lane? {
        guard let held = CUDABackend.heldLane, held.owner == ObjectIdentifier(identity) else { return nil }
        return held
    }

    /// The running thread's lane: the one it holds, else the first.
    var lane: Lane { held ?? lanes[0] }

    /// Runs `body` holding a lane of its own (waiting for one when all are held), so that requests on several
    /// threads run side by side on their own streams; then waits for the lane's work to finish, so that whatever
    /// the request made (an image's features, kept for the next request on another lane) is complete. Returns what
    /// `body` returned or threw and the first CUDA failure on the lane meanwhile, taken. A thread that already holds
    /// a lane keeps it, and the failure is left for its outer call. The lane is the running thread's: all of
    /// `body`'s backend work must run on that thread (work handed to another thread would go to lane 0, out of
    /// order with this lane's stream).
    public func withLane<T>(_ body: () throws -> T) -> (result: Result<T, any Error>, failure: CUDAError?) {
        if held != nil { return (Result { try body() }, nil) }
        idle.lock()
        while idleLanes.isEmpty { idle.wait() }
        let index = idleLanes.removeLast()
        idle.unlock()
        defer {
            idle.lock()
            idleLanes.append(index)
            idle.signal()
            idle.unlock()
        }
        let lane = lanes[index]
        return CUDABackend.$heldLane.withValue(lane) {
            let result = Result { try body() }
            synchronize(lane)
            return (result, takeFailure())
        }
    }

    /// Runs `body` (a model's load) with every tensor it makes carved from one weight arena: a few large blocks of
    /// device memory instead of an allocation per weight, kept until the last of the tensors goes.
    public func loadingWeights<T>(_ body: () throws -> T) rethrows -> T {
        let arena = WeightArena(queue: lanes[0].queue, owner: ObjectIdentifier(identity))
        lock.withLock {
            arenas.removeAll { $0.arena == nil }
            arenas.append(WeakArena(arena: arena))
        }
        return try CUDABackend.$loadingArena.withValue(arena) { try body() }
    }

    /// The weight arenas' device memory: reserved in blocks, in use by tensors, and spanned by them.
    public var weightMemory: (reserved: Int, used: Int, extent: Int) {
        let live = lock.withLock { arenas.compactMap(\.arena) }
        var total: (reserved: Int, used: Int, extent: Int) = (0, 0, 0)
        for usage in live.map(\.usage) {
            total.reserved += usage.reserved
            total.used += usage.used
            total.extent += usage.extent
        }
        return total
    }

    /// Waits for everything queued so far on every lane (after loading, before requests on other lanes use it).
    public func synchronize() {
        for lane in lanes { synchronize(lane) }
    }

    private func synchronize(_ lane: Lane) {
        run(on: lane) { queue throws(CUDAError) in try queue.synchronize() }
    }

    /// The first failure on the running thread's lane since the last call, cleared; a lost context is never
    /// cleared.
    public func takeFailure() -> CUDAError? {
        let lane = self.lane
        lock.lock()
        defer { lock.unlock() }
        defer { lane.firstFailure = nil }
        return lostContext ?? lane.firstFailure
    }

    /// The failure that lost the device's context, if one did: the engine cannot serve again.
    public var fault: CUDAError? { lock.withLock { lostContext } }

    /// Runs `body` (queue calls) on the running thread's lane, one operation at a time (each operation's inputs
    /// were queued before it, so the stream's order keeps the results right), keeping the first failure. After a
    /// failure nothing more is queued on that lane until `takeFailure`: an allocation that failed left a
    /// placeholder no kernel may touch, so the device's context stays sound and the lane's next request runs
    /// normally. After a failure that lost the context nothing is queued anywhere.
    func run(_ body: (GPUQueue) throws(CUDAError) -> Void) { run(on: lane, body) }

    private func run(on lane: Lane, _ body: (GPUQueue) throws(CUDAError) -> Void) {
        lane.order.lock()
        defer { lane.order.unlock() }
        guard lock.withLock({ lane.firstFailure == nil && lostContext == nil }) else { return }
        do throws(CUDAError) {
            try body(lane.queue)
        } catch {
            lock.lock()
            if lane.firstFailure == nil { lane.firstFailure = error }
            if error.losesContext && lostContext == nil { lostContext = error }
            lock.unlock()
        }
    }

    // MARK: Memory

    func address(_ tensor: Tensor) -> UInt64 { UInt64(UInt(bitPattern: tensor.buffer.address)) }
    func address(_ tensor: Tensor?) -> KernelArgument { tensor.map { .address(address($0)) } ?? .null }

    /// Uninitialised device memory for `shape` (carved from the weight arena while loading, else from the pool); a
    /// failed allocation leaves a host placeholder of the same size and the failure (nothing is queued after a
    /// failure, so no kernel ever sees the placeholder).
    func empty(_ shape: [Int], _ type: ElementType = .float32, layout: (any AnyObject & Sendable)? = nil) -> Tensor {
        let bytes = max(shape.reduce(1, *), 1) * type.byteCount
        func tensor(_ buffer: DeviceBuffer) -> Tensor {
            Tensor(shape: shape, elementType: type, buffer: buffer, layout: layout)
        }
        func placeholder() -> Tensor {
            let placeholder = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            return tensor(DeviceBuffer(address: placeholder, byteCount: bytes) { $0.deallocate() })
        }
        var address: UInt64 = 0
        if let arena = CUDABackend.loadingArena, arena.owner == ObjectIdentifier(identity), held == nil {
            run { _ throws(CUDAError) in address = try arena.take(bytes) }
            guard address != 0 else { return placeholder() }
            // The arena's blocks stay until its last tensor goes.
            return tensor(
                DeviceBuffer(address: UnsafeMutableRawPointer(bitPattern: UInt(address))!, byteCount: bytes) {
                    arena.giveBack(UInt64(UInt(bitPattern: $0)), bytes: bytes)
                })
        }
        let queue = lane.queue
        run { queue throws(CUDAError) in address = try queue.allocate(bytes) }
        guard address != 0 else { return placeholder() }
        return tensor(
            DeviceBuffer(address: UnsafeMutableRawPointer(bitPattern: UInt(address))!, byteCount: bytes) {
                [weak self] pointer in
                // Freed on the stream of the lane that lets go of it, after that stream's work that may still read
                // it; by a thread that holds no lane, on the stream it came from (every lane's work was waited for
                // when its request ended).
                (self?.held?.queue ?? queue).release(UInt64(UInt(bitPattern: pointer)))
            })
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
        run { queue throws(CUDAError) in try queue.upload(base, count: bytes.count, to: address(tensor)) }
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
        run { queue throws(CUDAError) in try queue.fill(address(tensor), word: 0, count: tensor.count) }
        return tensor
    }

    public func read(_ tensor: Tensor) -> [Float] { read(tensor, offset: 0, count: tensor.count) }

    public func read(_ tensor: Tensor, offset: Int, count: Int) -> [Float] {
        precondition(tensor.elementType == .float32, "read: float tensors only")
        precondition(offset >= 0 && count >= 0 && offset + count <= tensor.count, "read outside the tensor")
        var host = [Float](repeating: 0, count: count)
        guard count > 0 else { return host }
        host.withUnsafeMutableBytes { bytes in
            run { queue throws(CUDAError) in
                try queue.download(address(tensor) + UInt64(offset * 4), count: count * 4, into: bytes.baseAddress!)
            }
        }
        return host
    }

    /// The tensors packed into one device buffer by device copies, then one download.
    public func read(_ tensors: [Tensor]) -> [[Float]] {
        precondition(tensors.allSatisfy { $0.elementType == .float32 }, "read: float tensors only")
        let total = tensors.reduce(0) { $0 + $1.count }
        guard tensors.count > 1, total > 0 else { return tensors.map(read) }
        let packed = empty([total])
        var offset = 0
        for tensor in tensors {
            copy(address(tensor), to: address(packed) + UInt64(offset * 4), count: tensor.count)
            offset += tensor.count
        }
        let host = read(packed)
        offset = 0
        return tensors.map { tensor in
            defer { offset += tensor.count }
            return Array(host[offset..<(offset + tensor.count)])
        }
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
        // In place: the weight is the backend's now, so no second copy is made and dropped.
        let reordered = CUDAKernels.channelsLastWeight(
            read(weight), outputs: outputs, channels: inputs, kernel: geometry.kernel)
        reordered.withUnsafeBytes { upload($0, to: weight) }
        return Tensor(shape: weight.shape, buffer: weight.buffer, layout: ChannelsLast())
    }

    // MARK: Launching

    /// Launches `kernel` over `count` threads in blocks of CUDAKernels.blockThreads.
    func launch(_ kernel: String, over count: Int, _ arguments: [KernelArgument]) {
        guard count > 0 else { return }
        let threads = CUDAKernels.blockThreads
        run { queue throws(CUDAError) in
            try queue.launch(kernel, blocks: (count + threads - 1) / threads, threads: threads, arguments)
        }
    }

    /// Launches a row kernel over `rows` rows.
    func launch(_ kernel: String, rows: Int, _ arguments: [KernelArgument]) {
        launch(kernel, over: rows * queue.rowLanes, arguments)
    }

    func copy(_ from: UInt64, to: UInt64, count: Int) {
        guard count > 0 else { return }
        run { queue throws(CUDAError) in try queue.copy(from, to: to, count: count * 4) }
    }
}

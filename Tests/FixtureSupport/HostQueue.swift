// A GPUQueue on the host, for CI: CUDAKernels.source compiled as C++ through a small shim (CUDA's thread indices as
// globals set before each call, one call per thread), a wrapper per kernel taking cuLaunchKernel's `void **`
// argument array (so launches go through the same KernelArgument marshalling as the GPU's), malloc'd memory at the
// addresses the backend passes around, and cublasSgemmStridedBatched's column-major product (float64 sums, in C). The row
// kernels run with one lane per row. Needs clang++ (the Swift toolchain's).
import Foundation
import OFA

public final class HostQueue: GPUQueue, @unchecked Sendable {
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

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
        // A launch: every thread of every block, one after another.
        extern "C" void ofa_host_launch(void (*kernel)(void **), unsigned blocks, unsigned threads, void **p) {
            blockDim.x = threads;
            for (unsigned block = 0; block < blocks; block++)
                for (unsigned thread = 0; thread < threads; thread++) {
                    blockIdx.x = block; threadIdx.x = thread;
                    kernel(p);
                }
        }
        // cublasSgemmStridedBatched's definition, column-major, accumulated in double.
        extern "C" void ofa_host_gemm(
            int ta, int tb, long m, long n, long k, float alpha, const float *a, long lda, long sa, const float *b,
            long ldb, long sb, float beta, float *c, long ldc, long sc, long batch) {
            for (long e = 0; e < batch; e++)
                for (long j = 0; j < n; j++)
                    for (long i = 0; i < m; i++) {
                        double sum = 0;
                        for (long l = 0; l < k; l++)
                            sum += (double)(ta ? a[e * sa + l + i * lda] : a[e * sa + i + l * lda])
                                * (double)(tb ? b[e * sb + j + l * ldb] : b[e * sb + l + j * ldb]);
                        float *target = c + e * sc + i + j * ldc;
                        *target = (float)(alpha * sum + (beta == 0 ? 0.0 : (double)beta * *target));
                    }
        }
        """

    /// Each kernel's name and parameter types, read from the source.
    public static func kernels(in source: String) -> [(name: String, types: [String])] {
        source.components(separatedBy: "extern \"C\" __global__ void ").dropFirst().map { text in
            let name = String(text.prefix { $0 != "(" })
            let parameters = text.drop { $0 != "(" }.dropFirst().prefix { $0 != ")" }
            let types = parameters.split(separator: ",").map { parameter in
                let trimmed = parameter.trimmingCharacters(in: .whitespacesAndNewlines)
                let type = trimmed.reversed().drop { $0.isLetter || $0.isNumber || $0 == "_" }.reversed()
                return String(type).trimmingCharacters(in: .whitespaces)
            }
            return (name, types)
        }
    }

    /// `extern "C" void ofa_host_NAME(void **p)`: the kernel called with its arguments read from the array.
    public static func wrappers(for source: String) -> String {
        kernels(in: source).map { kernel in
            let arguments = kernel.types.enumerated().map { "*(\($0.element) *)p[\($0.offset)]" }
            return "extern \"C\" void ofa_host_\(kernel.name)(void **p) { "
                + "\(kernel.name)(\(arguments.joined(separator: ", "))); }"
        }.joined(separator: "\n")
    }

    public let rowLanes = 1
    public let description = "host (CUDA kernels compiled as C++)"
    private let library: UnsafeMutableRawPointer
    private let gemm: Gemm
    private let run: @convention(c) (Wrapper, UInt32, UInt32, UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Void
    typealias Wrapper = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Void
    typealias Gemm =
        @convention(c) (
            Int32, Int32, Int, Int, Int, Float, UnsafePointer<Float>, Int, Int, UnsafePointer<Float>, Int, Int, Float,
            UnsafeMutablePointer<Float>, Int, Int, Int
        ) -> Void
    private var wrappers: [String: Wrapper] = [:]
    private let lock = NSLock()
    /// Products run so far, and the kernels launched (by name).
    public private(set) var products = 0
    public private(set) var launches: [String: Int] = [:]
    /// Copies device → host so far.
    public var downloads: Int { lock.withLock { downloadCount } }
    private var downloadCount = 0

    public init() throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        guard
            let compiler = (path.split(separator: ":").map { "\($0)/clang++" } + ["/opt/swift/usr/bin/clang++"])
                .first(where: FileManager.default.isExecutableFile)
        else { throw Unavailable(description: "no clang++ to compile the CUDA kernels for the host") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ofad-kernels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try HostQueue.shim.write(to: folder.appendingPathComponent("shim.h"), atomically: true, encoding: .utf8)
        try (CUDAKernels.source + "\n" + HostQueue.wrappers(for: CUDAKernels.source)).write(
            to: folder.appendingPathComponent("kernels.cu"), atomically: true, encoding: .utf8)
        let output = folder.appendingPathComponent("kernels.so").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: compiler)
        process.arguments = [
            "-std=c++17", "-O2", "-shared", "-fPIC", "-include", folder.appendingPathComponent("shim.h").path,
            "-x", "c++", folder.appendingPathComponent("kernels.cu").path, "-o", output,
        ]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let library = dlopen(output, RTLD_NOW | RTLD_LOCAL) else {
            throw Unavailable(description: "clang++ could not build the kernels for the host")
        }
        self.library = library
        gemm = unsafeBitCast(dlsym(library, "ofa_host_gemm")!, to: Gemm.self)
        run = unsafeBitCast(
            dlsym(library, "ofa_host_launch")!,
            to: (@convention(c) (Wrapper, UInt32, UInt32, UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Void)
                .self)
        for name in CUDAKernels.entryPoints {
            guard let symbol = dlsym(library, "ofa_host_\(name)") else {
                throw Unavailable(description: "no host wrapper for \(name)")
            }
            wrappers[name] = unsafeBitCast(symbol, to: Wrapper.self)
        }
    }

    deinit { dlclose(library) }

    public func allocate(_ bytes: Int) throws(CUDAError) -> UInt64 {
        guard let address = malloc(max(bytes, 1)) else { throw .outOfMemory(bytes: bytes) }
        return UInt64(UInt(bitPattern: address))
    }

    public func release(_ address: UInt64) { free(UnsafeMutableRawPointer(bitPattern: UInt(address))) }

    func pointer(_ address: UInt64) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(address))! }

    public func upload(_ bytes: UnsafeRawPointer, count: Int, to address: UInt64) throws(CUDAError) {
        pointer(address).copyMemory(from: bytes, byteCount: count)
    }

    public func download(_ address: UInt64, count: Int, into bytes: UnsafeMutableRawPointer) throws(CUDAError) {
        lock.withLock { downloadCount += 1 }
        bytes.copyMemory(from: pointer(address), byteCount: count)
    }

    public func copy(_ from: UInt64, to: UInt64, count: Int) throws(CUDAError) {
        pointer(to).copyMemory(from: pointer(from), byteCount: count)
    }

    /// Everything ran when it was queued.
    public func synchronize() throws(CUDAError) {}

    public func fill(_ address: UInt64, word: UInt32, count: Int) throws(CUDAError) {
        pointer(address).bindMemory(to: UInt32.self, capacity: count).initialize(repeating: word, count: count)
    }

    public func launch(_ kernel: String, blocks: Int, threads: Int, _ arguments: [KernelArgument]) throws(CUDAError) {
        guard let wrapper = wrappers[kernel] else { throw .noKernel(kernel) }
        lock.lock()
        defer { lock.unlock() }
        launches[kernel, default: 0] += 1
        KernelArgument.withParameters(arguments) { run(wrapper, UInt32(blocks), UInt32(threads), $0) }
    }

    /// cublasSgemmStridedBatched: C[b][i + j·ldc] = alpha · Σ_l op(A)[i, l] · op(B)[l, j] + beta · C (beta 0 ignores
    /// C, as cuBLAS does), op(A)[i, l] = A[i + l·lda], or A[l + i·lda] transposed; in the shim's C.
    /// Products of more multiply-adds than this go through `large` (oneDNN on packed copies) instead of the C
    /// definition, so OFA-large's shapes take seconds, not hours.
    public static let referenceLimit = 1 << 22
    private let cpu = CPUBackend(threads: 0)

    /// The same product: each batch entry's op(A) and op(B) packed row-major by their column-major definition,
    /// multiplied by the CPU backend, and alpha · P + beta · C written back through `ldc`.
    func large(_ p: ColumnMajorProduct, _ floats: (UInt64) -> UnsafeMutablePointer<Float>) {
        let (a, b, c) = (floats(p.a), floats(p.b), floats(p.c))
        for entry in 0..<p.batch {
            let (aBase, bBase, cBase) = (entry * p.strideA, entry * p.strideB, entry * p.strideC)
            let left = cpu.makeTensor(shape: [p.m, p.k]) { out in
                for i in 0..<p.m {
                    for l in 0..<p.k {
                        out[i * p.k + l] = p.transposingA ? a[aBase + l + i * p.lda] : a[aBase + i + l * p.lda]
                    }
                }
            }
            let right = cpu.makeTensor(shape: [p.k, p.n]) { out in
                for l in 0..<p.k {
                    for j in 0..<p.n {
                        out[l * p.n + j] = p.transposingB ? b[bBase + j + l * p.ldb] : b[bBase + l + j * p.ldb]
                    }
                }
            }
            let product = cpu.read(cpu.matrixProduct(left, right, transposingA: false))
            for j in 0..<p.n {
                for i in 0..<p.m {
                    let target = cBase + i + j * p.ldc
                    c[target] = p.alpha * product[i * p.n + j] + (p.beta == 0 ? 0 : p.beta * c[target])
                }
            }
        }
    }

    public func multiply(_ p: ColumnMajorProduct) throws(CUDAError) {
        // cuBLAS's own checks (CUBLAS_STATUS_INVALID_VALUE, 7), so a call it would refuse fails here too.
        guard p.m >= 0, p.n >= 0, p.k >= 0, p.batch >= 0, p.lda >= max(1, p.transposingA ? p.k : p.m),
            p.ldb >= max(1, p.transposingB ? p.n : p.k), p.ldc >= max(1, p.m)
        else { throw .blas(call: "cublasSgemmStridedBatched", status: 7) }
        lock.lock()
        products += 1
        lock.unlock()
        func floats(_ address: UInt64) -> UnsafeMutablePointer<Float> {
            pointer(address).assumingMemoryBound(to: Float.self)
        }
        if p.m * p.n * p.k > HostQueue.referenceLimit { return large(p, floats) }
        gemm(
            p.transposingA ? 1 : 0, p.transposingB ? 1 : 0, p.m, p.n, p.k, p.alpha, floats(p.a), p.lda, p.strideA,
            floats(p.b), p.ldb, p.strideB, p.beta, floats(p.c), p.ldc, p.strideC, p.batch)
    }

}

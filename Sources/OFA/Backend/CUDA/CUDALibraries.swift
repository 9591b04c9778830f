// The CUDA libraries found and opened at run time (CCUDA): where each is looked for, what is missing when one cannot
// be used, and what the driver says about the GPUs. With CUDADriver.swift (the calls made once they are open), the
// only Swift files that import CCUDA.
import CCUDA
import Foundation

/// A library of CUDA that ofad opens at run time.
public enum CUDALibrary: String, Sendable, CaseIterable {
    case driver = "CUDA driver"
    case blas = "cuBLAS"
    case nvrtc = "NVRTC"

    /// File names tried in each place, newest first.
    public var fileNames: [String] {
        switch self {
        case .driver: ["libcuda.so.1"]
        case .blas: ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11"]
        case .nvrtc: ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"]
        }
    }
}

/// Why CUDA cannot be used on this machine, naming the culprit and every place that was searched.
public enum CUDAUnavailable: Error, Equatable, CustomStringConvertible {
    /// No candidate could be opened; `failures` are the loader's messages for files that exist but did not load.
    case libraryNotFound(CUDALibrary, searched: [String], failures: [String])
    case missingSymbol(CUDALibrary, path: String, symbol: String)
    case driverFailed(call: String, code: Int32, message: String)
    case noDevice(driverVersion: Int32)
    case compilationFailed(architecture: String, message: String, log: String)

    public var description: String {
        switch self {
        case .libraryNotFound(let library, let searched, let failures):
            let why = failures.isEmpty ? "" : " (\(failures.joined(separator: "; ")))"
            return "\(library.rawValue) library not found\(why); searched \(searched.joined(separator: ", "))"
                + " (OFAD_CUDA_LIBRARY_PATH adds directories, searched first)"
        case .missingSymbol(let library, let path, let symbol):
            return "\(library.rawValue) library \(path) has no \(symbol) (too old, or not that library)"
        case .driverFailed(let call, let code, let message):
            return "the CUDA driver's \(call) failed: \(message) (\(code))"
        case .noDevice(let version):
            return "the CUDA driver (\(CUDALibraries.versionText(version))) finds no GPU"
        case .compilationFailed(let architecture, let message, let log):
            return "NVRTC could not compile the kernels for \(architecture): \(message)\n\(log)"
        }
    }
}

/// Where the libraries are looked for, in order: each override directory, then the dynamic linker's own search
/// (the bare file name: LD_LIBRARY_PATH, then ld.so.cache, which holds Debian's packages in
/// /usr/lib/x86_64-linux-gnu), then the directories NVIDIA's CUDA toolkit installs to.
public struct CUDASearchPath: Sendable, Equatable {
    public static let environmentVariable = "OFAD_CUDA_LIBRARY_PATH"
    public static let toolkitDirectories = ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"]

    public var directories: [String]
    /// The dynamic linker's search and the toolkit's directories after the override's.
    public var systemSearch: Bool

    public init(directories: [String] = [], systemSearch: Bool = true) {
        self.directories = directories
        self.systemSearch = systemSearch
    }

    /// The override from `OFAD_CUDA_LIBRARY_PATH` (directories separated by `:`; pip's CUDA wheels put the
    /// libraries in site-packages/nvidia/*/lib, CUDA 13's in site-packages/nvidia/cu13/lib).
    public init(environment: [String: String]) {
        let value = environment[CUDASearchPath.environmentVariable] ?? ""
        self.init(directories: value.split(separator: ":").map(String.init).filter { !$0.isEmpty })
    }

    /// Every file tried for `library`, in order.
    public func candidates(_ library: CUDALibrary) -> [String] {
        func inside(_ directories: [String]) -> [String] {
            directories.flatMap { directory in
                library.fileNames.map { (directory.hasSuffix("/") ? directory : directory + "/") + $0 }
            }
        }
        guard systemSearch else { return inside(directories) }
        return inside(directories) + library.fileNames + inside(CUDASearchPath.toolkitDirectories)
    }
}

/// A GPU as the driver reports it.
public struct CUDADevice: Sendable, Equatable {
    public let ordinal: Int
    public let name: String
    public let computeCapability: (major: Int, minor: Int)
    public let memoryBytes: Int

    /// The architecture its kernels are compiled for ("sm_90").
    public var architecture: String { "sm_\(computeCapability.major)\(computeCapability.minor)" }

    public static func == (a: CUDADevice, b: CUDADevice) -> Bool {
        a.ordinal == b.ordinal && a.name == b.name && a.computeCapability == b.computeCapability
            && a.memoryBytes == b.memoryBytes
    }
}

/// The driver, cuBLAS and NVRTC opened, with their entry points resolved, and what they report.
public final class CUDALibraries: @unchecked Sendable {
    /// The file each library was opened from.
    public let paths: [CUDALibrary: String]
    /// CUDA's encoding: 1000 · major + 10 · minor.
    public let driverVersion: Int32
    public let blasVersion: String
    public let devices: [CUDADevice]
    public let compiler: CUDACompiler
    /// The resolved entry points, for CUDADriver.swift.
    let driver: ofa_cuda_driver
    let blas: ofa_cuda_blas
    private let handles: [UnsafeMutableRawPointer]

    /// Opens every library and asks the driver for its GPUs; throws what is missing first: the driver library, a
    /// GPU, cuBLAS, NVRTC.
    public init(search: CUDASearchPath) throws(CUDAUnavailable) {
        var handles: [UnsafeMutableRawPointer] = []
        var paths: [CUDALibrary: String] = [:]
        do throws(CUDAUnavailable) {
            let driverLibrary = try CUDALibraries.open(.driver, search: search)
            handles.append(driverLibrary.handle)
            paths[.driver] = driverLibrary.path
            var driver = ofa_cuda_driver()
            try CUDALibraries.resolve(.driver, driverLibrary) { ofa_cuda_resolve_driver($0, &driver) }
            let (version, devices) = try CUDALibraries.devices(driver)
            let blasLibrary = try CUDALibraries.open(.blas, search: search)
            handles.append(blasLibrary.handle)
            paths[.blas] = blasLibrary.path
            var blas = ofa_cuda_blas()
            try CUDALibraries.resolve(.blas, blasLibrary) { ofa_cuda_resolve_blas($0, &blas) }
            let compiler = try CUDACompiler(search: search)
            paths[.nvrtc] = compiler.path
            var parts = [Int32](repeating: 0, count: 3)
            for index in 0..<3 where blas.property!(Int32(index), &parts[index]) != 0 { parts[index] = -1 }
            driverVersion = version
            self.devices = devices
            self.driver = driver
            self.blas = blas
            blasVersion = parts.map(String.init).joined(separator: ".")
            self.compiler = compiler
        } catch {
            for handle in handles { ofa_cuda_close(handle) }
            throw error
        }
        self.paths = paths
        self.handles = handles
    }

    deinit { for handle in handles { ofa_cuda_close(handle) } }

    /// "13.0" for 13000.
    static func versionText(_ version: Int32) -> String { "\(version / 1000).\(version % 1000 / 10)" }

    /// One line for logs and errors: the GPUs and the library versions.
    public var summary: String {
        let gpus = devices.map {
            "\($0.ordinal): \($0.name), compute \($0.computeCapability.major).\($0.computeCapability.minor), "
                + "\($0.memoryBytes >> 20) MiB"
        }
        return "GPU \(gpus.joined(separator: "; ")); driver \(CUDALibraries.versionText(driverVersion)), cuBLAS "
            + "\(blasVersion), NVRTC \(compiler.version)"
    }

    struct Opened {
        let handle: UnsafeMutableRawPointer
        let path: String
    }

    /// The first candidate of `library` that loads.
    static func open(_ library: CUDALibrary, search: CUDASearchPath) throws(CUDAUnavailable) -> Opened {
        let candidates = search.candidates(library)
        var failures: [String] = []
        for candidate in candidates {
            if let handle = ofa_cuda_open(candidate) {
                let path = ofa_cuda_opened_path(handle).map { String(cString: $0) } ?? candidate
                return Opened(handle: handle, path: path.isEmpty ? candidate : path)
            }
            let message = String(cString: ofa_cuda_last_error())
            // A file that is not there is the search's business; anything else (a wrong ELF class, a missing
            // dependency) is worth showing.
            if !message.contains("No such file or directory") { failures.append(message) }
        }
        throw .libraryNotFound(library, searched: candidates, failures: failures)
    }

    static func close(_ opened: Opened) { ofa_cuda_close(opened.handle) }

    /// `library`'s CCUDA resolve function, into a table of its own (what `resolve` checks).
    static func resolver(_ library: CUDALibrary) -> (UnsafeMutableRawPointer) -> UnsafePointer<CChar>? {
        switch library {
        case .driver:
            return { handle in
                var table = ofa_cuda_driver()
                return ofa_cuda_resolve_driver(handle, &table)
            }
        case .blas:
            return { handle in
                var table = ofa_cuda_blas()
                return ofa_cuda_resolve_blas(handle, &table)
            }
        case .nvrtc:
            return { handle in
                var table = ofa_cuda_nvrtc()
                return ofa_cuda_resolve_nvrtc(handle, &table)
            }
        }
    }

    /// Resolves `library`'s entry points with `resolver` (a CCUDA resolve function), naming the first one missing;
    /// the caller closes the library then.
    static func resolve(
        _ library: CUDALibrary, _ opened: Opened, _ resolver: (UnsafeMutableRawPointer) -> UnsafePointer<CChar>?
    ) throws(CUDAUnavailable) {
        guard let missing = resolver(opened.handle) else { return }
        let symbol = String(cString: missing)
        throw .missingSymbol(library, path: opened.path, symbol: symbol)
    }

    /// The driver's words for `result` (cuGetErrorString).
    static func errorText(_ driver: ofa_cuda_driver, _ result: Int32) -> String {
        var text: UnsafePointer<CChar>?
        return (driver.error_string!(result, &text) == 0 ? text.map { String(cString: $0) } : nil) ?? "unknown error"
    }

    /// cuInit, then every GPU's name, compute capability and memory.
    private static func devices(_ driver: ofa_cuda_driver) throws(CUDAUnavailable) -> (Int32, [CUDADevice]) {
        func check(_ call: String, _ result: Int32) throws(CUDAUnavailable) {
            guard result != 0 else { return }
            throw .driverFailed(call: call, code: result, message: errorText(driver, result))
        }
        var version: Int32 = 0
        try check("cuDriverGetVersion", driver.driver_version!(&version))
        let initialised = driver.initialize!(0)
        if initialised == OFA_CU_ERROR_NO_DEVICE { throw .noDevice(driverVersion: version) }
        try check("cuInit", initialised)
        var count: Int32 = 0
        try check("cuDeviceGetCount", driver.device_count!(&count))
        guard count > 0 else { throw .noDevice(driverVersion: version) }
        var devices: [CUDADevice] = []
        for ordinal in 0..<count {
            var device: Int32 = 0
            try check("cuDeviceGet", driver.device_get!(&device, ordinal))
            var name = [CChar](repeating: 0, count: 256)
            try check("cuDeviceGetName", driver.device_name!(&name, Int32(name.count - 1), device))
            var major: Int32 = 0
            var minor: Int32 = 0
            try check(
                "cuDeviceGetAttribute",
                driver.device_attribute!(&major, OFA_CU_COMPUTE_CAPABILITY_MAJOR, device))
            try check(
                "cuDeviceGetAttribute",
                driver.device_attribute!(&minor, OFA_CU_COMPUTE_CAPABILITY_MINOR, device))
            var bytes = 0
            try check("cuDeviceTotalMem_v2", driver.device_total_memory!(&bytes, device))
            devices.append(
                CUDADevice(
                    ordinal: Int(ordinal), name: String(cString: name),
                    computeCapability: (Int(major), Int(minor)), memoryBytes: bytes))
        }
        return (version, devices)
    }
}

/// What ptxas reports for one kernel of a compilation (`-Xptxas=-v`).
public struct CUDAEntryReport: Sendable, Equatable {
    public var name: String
    public var registers = 0
    /// Local memory: the stack frame and what spills to it.
    public var stackBytes = 0
    public var spillStores = 0
    public var spillLoads = 0
}

/// One source compiled for one architecture.
public struct CUDACompilation: Sendable {
    public let architecture: String
    public let cubin: [UInt8]
    public let log: String
    /// Each kernel ptxas compiled, in its log's order.
    public let entries: [CUDAEntryReport]

    /// ptxas's verbose log → one report per entry function.
    static func entries(log: String) -> [CUDAEntryReport] {
        var entries: [CUDAEntryReport] = []
        func number(before marker: String, in line: Substring) -> Int? {
            guard let range = line.range(of: marker) else { return nil }
            return Int(line[..<range.lowerBound].split(separator: " ").last ?? "")
        }
        for line in log.split(separator: "\n") {
            if let start = line.range(of: "Compiling entry function '") {
                let rest = line[start.upperBound...]
                entries.append(CUDAEntryReport(name: String(rest.prefix { $0 != "'" })))
            } else if !entries.isEmpty {
                let fields: [(String, WritableKeyPath<CUDAEntryReport, Int>)] = [
                    (" bytes stack frame", \.stackBytes), (" bytes spill stores", \.spillStores),
                    (" bytes spill loads", \.spillLoads), (" registers", \.registers),
                ]
                for (marker, field) in fields {
                    if let value = number(before: marker, in: line) {
                        entries[entries.count - 1][keyPath: field] = value
                    }
                }
            }
        }
        return entries
    }
}

/// NVRTC on its own (it needs no GPU): CUDA C to a CUBIN for one architecture.
public final class CUDACompiler: @unchecked Sendable {
    public let path: String
    /// "13.5".
    public let version: String
    private let handle: UnsafeMutableRawPointer
    private var nvrtc = ofa_cuda_nvrtc()
    private let lock = NSLock()
    private var compiled = 0

    /// Sources compiled so far (what KernelCache saves).
    public var compilations: Int {
        lock.lock()
        defer { lock.unlock() }
        return compiled
    }

    public init(search: CUDASearchPath) throws(CUDAUnavailable) {
        let opened = try CUDALibraries.open(.nvrtc, search: search)
        do throws(CUDAUnavailable) {
            var table = ofa_cuda_nvrtc()
            try CUDALibraries.resolve(.nvrtc, opened) { ofa_cuda_resolve_nvrtc($0, &table) }
            nvrtc = table
        } catch {
            CUDALibraries.close(opened)
            throw error
        }
        handle = opened.handle
        path = opened.path
        var major: Int32 = 0
        var minor: Int32 = 0
        _ = nvrtc.version!(&major, &minor)
        version = "\(major).\(minor)"
    }

    deinit { ofa_cuda_close(handle) }

    /// Compiles `source` for `architecture` ("sm_90"), with ptxas's report of each kernel.
    public func compile(_ source: String, name: String, architecture: String) throws(CUDAUnavailable)
        -> CUDACompilation
    {
        lock.lock()
        defer { lock.unlock() }
        compiled += 1
        var program: UnsafeMutableRawPointer?
        let created = source.withCString { text in
            name.withCString { nvrtc.create_program!(&program, text, $0, 0, nil, nil) }
        }
        guard created == 0, program != nil else {
            throw .compilationFailed(architecture: architecture, message: message(created), log: "")
        }
        defer { _ = nvrtc.destroy_program!(&program) }
        let options = ["--gpu-architecture=\(architecture)", "--std=c++17", "-Xptxas=-v"]
        let pointers = options.map { strdup($0) }
        defer { for pointer in pointers { free(pointer) } }
        let compiled = pointers.map { UnsafePointer($0) }.withUnsafeBufferPointer {
            nvrtc.compile_program!(program, Int32(options.count), $0.baseAddress)
        }
        var logBytes = 0
        _ = nvrtc.log_size!(program, &logBytes)
        var logText = [CChar](repeating: 0, count: max(logBytes, 1))
        _ = nvrtc.log!(program, &logText)
        let log = String(cString: logText)
        guard compiled == 0 else {
            throw .compilationFailed(architecture: architecture, message: message(compiled), log: log)
        }
        var size = 0
        let sized = nvrtc.cubin_size!(program, &size)
        guard sized == 0, size > 0 else {
            throw .compilationFailed(architecture: architecture, message: message(sized), log: log)
        }
        var cubin = [UInt8](repeating: 0, count: size)
        let copied = cubin.withUnsafeMutableBytes {
            nvrtc.cubin!(program, $0.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
        guard copied == 0 else {
            throw .compilationFailed(architecture: architecture, message: message(copied), log: log)
        }
        return CUDACompilation(
            architecture: architecture, cubin: cubin, log: log, entries: CUDACompilation.entries(log: log))
    }

    private func message(_ result: Int32) -> String {
        nvrtc.error_string!(result).map { String(cString: $0) } ?? "NVRTC error \(result)"
    }
}

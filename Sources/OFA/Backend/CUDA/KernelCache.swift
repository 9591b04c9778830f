// Compiled kernels kept on disk (the daemon's cache directory, CacheDirectory= under systemd), keyed by the source's
// hash, the architecture and NVRTC's version, so a restart does not compile them again. A file that is not a CUBIN
// of a sane size is compiled again and replaced; a cache that cannot be written only costs the next start a compile.
import Foundation

public struct KernelCache: Sendable {
    public let directory: String
    /// Larger files are not read (the kernels' CUBIN is about 20 KB).
    static let largestFile = 16 << 20

    public init(directory: String) { self.directory = directory }

    /// FNV-1a, 64 bits, of the source's UTF-8: a file name, not a defence (the directory is ofad's own).
    static func hash(_ source: String) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in source.utf8 { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Where the compilation of `source` for `architecture` by NVRTC `version` is kept (its ptxas log beside it).
    public func path(source: String, architecture: String, version: String) -> String {
        "\(directory)/ofad-kernels-\(architecture)-nvrtc\(version)-\(KernelCache.hash(source)).cubin"
    }

    /// The kept compilation, or a new one (then kept).
    public func compilation(
        _ source: String, name: String, architecture: String, compiler: CUDACompiler
    ) throws(CUDAUnavailable) -> CUDACompilation {
        let path = path(source: source, architecture: architecture, version: compiler.version)
        if let cubin = KernelCache.read(path), cubin.starts(with: [0x7f, 0x45, 0x4c, 0x46]) {
            let log = KernelCache.read(path + ".log").map { String(decoding: $0, as: UTF8.self) } ?? ""
            return CUDACompilation(
                architecture: architecture, cubin: cubin, log: log, entries: CUDACompilation.entries(log: log))
        }
        let compilation = try compiler.compile(source, name: name, architecture: architecture)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? Data(compilation.log.utf8).write(to: URL(fileURLWithPath: path + ".log"), options: .atomic)
        try? Data(compilation.cubin).write(to: URL(fileURLWithPath: path), options: .atomic)
        return compilation
    }

    /// A regular file's bytes, if it is at most `largestFile`.
    private static func read(_ path: String) -> [UInt8]? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            attributes[.type] as? FileAttributeType == .typeRegular,
            let size = attributes[.size] as? Int, size <= largestFile,
            let data = FileManager.default.contents(atPath: path), data.count <= largestFile
        else { return nil }
        return [UInt8](data)
    }
}

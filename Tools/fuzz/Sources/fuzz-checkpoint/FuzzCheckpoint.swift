// libFuzzer target: the input as a weights file read in full by TensorFile (safetensors, or a PyTorch zip: the zip
// directory, data.pkl's pickle, the tensor records and the storages). A file starting "PK" is read as a PyTorch
// archive, anything else as safetensors. The readers take a path, so each input is written to a file in a private
// directory under $OFA_FUZZ_TMPDIR (default /dev/shm).
import OFA

#if canImport(Glibc)
    import Glibc
#endif

private let verbose = getenv("OFA_FUZZ_VERBOSE") != nil

/// A private directory for this process, removed at exit.
private let directory: String = {
    let base = getenv("OFA_FUZZ_TMPDIR").map { String(cString: $0) } ?? "/dev/shm"
    var template = Array("\(base)/ofa-fuzz-checkpoint-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { fatalError("mkdtemp: \(String(cString: strerror(errno)))") }
    let path = String(cString: made)
    atexit {
        for name in [torchName, safetensorsName] { unlink(directory + "/" + name) }
        rmdir(directory)
    }
    return path
}()
private let torchName = "pytorch_model.bin"
private let safetensorsName = "model.safetensors"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let isZip = size >= 2 && data[0] == 0x50 && data[1] == 0x4B
    let path = directory + "/" + (isZip ? torchName : safetensorsName)
    write(UnsafeBufferPointer(start: data, count: size), to: path)
    do {
        let tensors = try TensorFile.read(path: path)
        for (name, tensor) in tensors {
            let count = tensor.shape.reduce(1, *)
            precondition(tensor.floats.count + tensor.integers.count == count, "tensor \(name) has the wrong count")
        }
        if verbose { print("read \(tensors.count) tensors: \(tensors.keys.sorted())") }
    } catch {
        if verbose { print("error: \(error)") }
    }
    return 0
}

private func write(_ bytes: UnsafeBufferPointer<UInt8>, to path: String) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { fatalError("open \(path): \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var done = 0
    while done < bytes.count {
        let written = Glibc.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
        guard written > 0 else { fatalError("write \(path): \(String(cString: strerror(errno)))") }
        done += written
    }
}

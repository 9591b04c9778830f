// The device check (BackendConformance.DeviceCheck), and the two steps it needs prepared here.
//   ofa-device-check run ROOT SCRATCH REPORT.json   every check on the GPU (Tools/device/run.sh calls it)
//   ofa-device-check synthesize ROOT SCRATCH        write the seeded OFA-large-shaped checkpoint
//   ofa-device-check figures ROOT SCRATCH OUT.json  the CPU engine's figures on it (committed)
//   ofa-device-check serve                          ofad's daemon, configured by the OFAD_* environment
//   ofa-device-check bench-daemon SOCKET OUT.json [QUERIES] [CLIENTS]
//                                                   the daemon end to end over its socket, as ofactl talks to it
// CUDA's libraries are looked for as ofad does (OFAD_CUDA_LIBRARY_PATH first). Exit status 0 when every check
// passed, 1 when one failed, 2 on bad arguments.
import BackendConformance
import Foundation
import OFA

let arguments = CommandLine.arguments.dropFirst().map { $0 }
func fail(_ message: String, status: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(status)
}
if arguments.first == "serve" {
    do { exit(try DaemonBenchmark.serve()) } catch { fail("ofa-device-check serve: \(error)", status: 1) }
}
if arguments.first == "bench-daemon" {
    guard arguments.count >= 3 else { fail("usage: ofa-device-check bench-daemon SOCKET OUT.json [QUERIES] [CLIENTS]") }
    do {
        let result = try DaemonBenchmark.run(
            socket: arguments[1], queries: arguments.count > 3 ? Int(arguments[3]) ?? 20 : 20,
            clients: arguments.count > 4 ? Int(arguments[4]) ?? 16 : 16, timeout: 600)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(result).write(to: URL(fileURLWithPath: arguments[2]))
        print(
            "daemon: ready after \(result.loadToReadySeconds) s; predict median \(result.sequentialMedianMilliseconds) ms; "
                + "\(result.requestsPerSecond) requests/s with \(result.concurrentClients) clients")
        exit(0)
    } catch {
        fail("ofa-device-check bench-daemon: \(error)", status: 1)
    }
}
guard arguments.count >= 3 else {
    fail(
        "usage: ofa-device-check run|synthesize|figures ROOT SCRATCH [OUT.json] | serve | bench-daemon SOCKET OUT.json")
}
let check = DeviceCheck(
    search: CUDASearchPath(environment: ProcessInfo.processInfo.environment), root: arguments[1],
    scratch: arguments[2])
func write<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(value).write(to: URL(fileURLWithPath: path))
}
do {
    switch arguments[0] {
    case "run":
        guard arguments.count == 4 else { fail("usage: ofa-device-check run ROOT SCRATCH REPORT.json") }
        let report = check.run(
            log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) },
            save: { try? write($0, to: arguments[3]) })
        try write(report, to: arguments[3])
        print("device check: \(report.passed ? "PASS" : "FAIL"); \(report.errors.count) step errors")
        exit(report.passed ? 0 : 1)
    case "synthesize":
        try check.writeSynthetic()
    case "figures":
        guard arguments.count == 4 else { fail("usage: ofa-device-check figures ROOT SCRATCH OUT.json") }
        let (figures, timing) = try SyntheticFigures.measure(
            directory: check.syntheticDirectory, backend: CPUBackend(threads: 0), runs: 1)
        try write(figures, to: arguments[3])
        print("figures: \(figures.probabilities), one query \(timing.medianMilliseconds) ms on the CPU")
    default:
        fail("unknown step \(arguments[0])")
    }
} catch {
    fail("ofa-device-check: \(error)", status: 1)
}

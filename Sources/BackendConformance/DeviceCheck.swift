// The device check: what the GPU machine runs in one call (Tools/device/run.sh), each step recorded in one JSON
// report and a failing step never losing the others': the probe (libraries, GPU, NVRTC's time, registers and
// spills), the kernels' checks on the GPU, the conformance suite on the CUDA backend, parity on the committed
// fixture models against PyTorch's goldens, the seeded OFA-large-shaped checkpoint against the CPU engine's
// figures, and the engine's times at OFA-large's shape.
import Foundation
import OFA

public struct DeviceReport: Codable {
    public struct Probe: Codable {
        public var libraries: [String: String] = [:]
        public var summary = ""
        public var architecture = ""
        public var nvrtcSeconds = 0.0
        public var kernels: [String: [Int]] = [:]  // name → [registers, stack bytes, spill stores, spill loads]
    }

    public struct Parity: Codable {
        public var model: String
        public var precision: String
        public var cases: Int
        public var probabilityError: Double
        public var attentionError: Double
        public var answersSame: Bool
        public var passed: Bool
    }

    public struct Timing: Codable {
        public var precision: String
        public var runs: Int
        public var medianMilliseconds: Double
        public var minimumMilliseconds: Double
        public var allEncoderAttentionMilliseconds: Double
        public var deviceBytesInUse: Int
        public var uploadedBytesPerQuery: Int
        /// The weight arena's blocks, and what the weights use of them.
        public var weightArenaBytes: Int
        public var weightBytes: Int
    }

    public var started = ISO8601DateFormatter().string(from: Date())
    public var probe: Probe?
    public var kernels: [ConformanceResult] = []
    public var conformance: [String: [ConformanceResult]] = [:]
    public var parity: [Parity] = []
    public var synthetic: [Parity] = []
    public var timings: [Timing] = []
    public var errors: [String] = []
    /// Each step's wall time.
    public var seconds: [String: Double] = [:]

    /// Every check that has a pass mark passed and no step failed.
    public var passed: Bool {
        errors.isEmpty && kernels.allSatisfy(\.passed)
            && conformance.filter { $0.key.hasPrefix("fp32") }.values.allSatisfy { $0.allSatisfy(\.passed) }
            && parity.filter { $0.precision == "fp32" }.allSatisfy(\.passed)
            && synthetic.filter { $0.precision == "fp32" }.allSatisfy(\.passed)
    }
}

/// What a device check is told: where the repository's fixtures are and the synthetic model's seed and figures.
public struct DeviceCheck {
    public var search: CUDASearchPath
    public var ordinal = 0
    /// The repository root (the fixture models, goldens and Tools/device's files).
    public var root: String
    /// Where the synthetic checkpoint is written.
    public var scratch: String
    public var runs = 20

    public init(search: CUDASearchPath, root: String, scratch: String) {
        self.search = search
        self.root = root
        self.scratch = scratch
    }

    /// Runs every step, handing the report so far to `save` after each (a crash in the driver still leaves what
    /// came before).
    public func run(log: (String) -> Void, save: (DeviceReport) -> Void = { _ in }) -> DeviceReport {
        var report = DeviceReport()
        func step(_ name: String, _ body: () throws -> Void) {
            let started = Date()
            log("\(name)…")
            do { try body() } catch { report.errors.append("\(name): \(error)") }
            report.seconds[name] = Date().timeIntervalSince(started)
            log("\(name): \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
            save(report)
        }
        var context: CUDAContext?
        var cubin: [UInt8] = []
        step("probe") {
            let opened = try CUDALibraries(search: search)
            let device = try CUDAContext(libraries: opened, ordinal: ordinal)
            try? device.keepFreedMemory(CUDABackend.keptFreedBytes)
            context = device
            var probe = DeviceReport.Probe()
            probe.libraries = Dictionary(uniqueKeysWithValues: opened.paths.map { ($0.key.rawValue, $0.value) })
            probe.summary = opened.summary
            probe.architecture = device.device.architecture
            let started = Date()
            let compiled = try opened.compiler.compile(
                CUDAKernels.source, name: CUDAKernels.fileName, architecture: probe.architecture)
            probe.nvrtcSeconds = Date().timeIntervalSince(started)
            for entry in compiled.entries {
                probe.kernels[entry.name] = [entry.registers, entry.stackBytes, entry.spillStores, entry.spillLoads]
            }
            cubin = compiled.cubin
            report.probe = probe
        }
        guard let context else { return report }
        func backend(_ precision: Precision) throws -> CUDABackend {
            try CUDABackend(
                queue: try CUDAStreamQueue(
                    context: context, cubin: cubin, tensorFloat32: precision == .tensorFloat32),
                precision: precision)
        }
        step("kernels") {
            report.kernels = try KernelConformance(
                queue: try CUDAStreamQueue(context: context, cubin: cubin, tensorFloat32: false)
            ).run()
        }
        for precision in [Precision.float32, .tensorFloat32] {
            for size in ConformanceSize.allCases {
                step("conformance \(precision.rawValue) \(size)") {
                    let gpu = try backend(precision)
                    report.conformance["\(precision.rawValue) \(size)"] = BackendConformance(backend: gpu).run(size)
                    if let failure = gpu.takeFailure() { throw failure }
                }
            }
        }
        for precision in [Precision.float32, .tensorFloat32] {
            for model in ["tiny-a", "tiny-b"] {
                step("parity \(model) \(precision.rawValue)") {
                    report.parity.append(try parity(model: model, backend: try backend(precision)))
                }
            }
        }
        step("parity on 2 streams at once") {
            let gpu = try CUDABackend(
                queues: try (0..<2).map { _ in
                    try CUDAStreamQueue(context: context, cubin: cubin, tensorFloat32: false)
                }, precision: .float32)
            report.parity += try sideBySide(["tiny-a", "tiny-b"], backend: gpu)
        }
        step("synthetic OFA-large checkpoint") { try writeSynthetic() }
        for precision in [Precision.float32, .tensorFloat32] {
            step("synthetic OFA-large \(precision.rawValue)") {
                let (result, timing) = try synthetic(backend: try backend(precision))
                report.synthetic.append(result)
                report.timings.append(timing)
            }
        }
        return report
    }

    // MARK: Parity on the committed fixtures

    func parity(model name: String, backend: CUDABackend) throws -> DeviceReport.Parity {
        let model = try backend.loadingWeights {
            try OFAModel(directory: root + "/Tests/Fixtures/models/" + name, backend: backend)
        }
        let goldens = try TensorFile.read(path: root + "/Tests/Fixtures/goldens/\(name).safetensors")
        func tensor(_ key: String) throws -> TensorValues {
            guard let values = goldens[key] else { throw MissingGolden(description: "\(name) has no golden \(key)") }
            return values
        }
        let document = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: root + "/Tests/Fixtures/goldens/\(name).json")))
        let cases = ((document as? [String: Any])?["cases"] as? [[String: Any]]) ?? []
        var probabilityError = 0.0
        var attentionError = 0.0
        var same = true
        var checked = 0
        for description in cases {
            guard let label = description["name"] as? String, goldens["\(label).source_ids"] != nil else { continue }
            let image = try tensor("\(label).patch_image")
            let features = model.imageFeatures(pixels: image.floats, height: image.shape[1], width: image.shape[2])
            let result = try model.classify(
                image: features, sourceTokens: try tensor("\(label).source_ids").integers,
                decoderTokens: try tensor("\(label).decoder_ids").integers, answerTokens: model.answerTokens,
                attention: AttentionRequest(kinds: Set(AttentionRequest.Kind.allCases)))
            if let failure = backend.takeFailure() { throw failure }
            let expected = try tensor("\(label).probabilities").floats
            probabilityError = max(probabilityError, Self.largestDifference(result.probabilities, expected))
            same = same && model.task.answers[result.best] == description["predicted_label"] as? String
            for map in result.attention {
                let reference = try tensor("\(label).attention.\(map.kind.rawValue).\(map.layer)").floats
                attentionError = max(attentionError, Self.largestDifference(map.values, reference))
            }
            checked += 1
        }
        return DeviceReport.Parity(
            model: name, precision: backend.precision.rawValue, cases: checked, probabilityError: probabilityError,
            attentionError: attentionError, answersSame: same,
            passed: checked > 0 && probabilityError <= 1e-4 && attentionError <= 1e-4 && same)
    }

    /// Each model's parity on a lane of its own, the models' threads at once (as the daemon's workers run).
    func sideBySide(_ models: [String], backend: CUDABackend) throws -> [DeviceReport.Parity] {
        let lock = NSLock()
        var results: [Int: Result<DeviceReport.Parity, any Error>] = [:]
        let group = DispatchGroup()
        for (index, name) in models.enumerated() {
            group.enter()
            let thread = Thread {
                let (result, failure) = backend.withLane { try parity(model: name, backend: backend) }
                let outcome = failure.map { .failure($0) } ?? result
                lock.withLock { results[index] = outcome }
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        return try models.indices.map { index in
            var parity = try results[index]!.get()
            parity.model += " (stream \(index + 1) of \(models.count), at once)"
            return parity
        }
    }

    struct MissingGolden: Error, CustomStringConvertible {
        let description: String
    }

    static func largestDifference(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { Double(abs($0 - $1)) }.max() ?? 0
    }

    // MARK: The synthetic OFA-large checkpoint

    public var syntheticDirectory: String { scratch + "/ofa-large-synthetic" }

    public func writeSynthetic() throws {
        let tools = root + "/Tools/device"
        let vocabulary = root + "/Tests/Fixtures/preprocessing/tokenizer/full-vocab"
        try SyntheticCheckpoint.write(
            keys: tools + "/ofa-large-keys.tsv",
            templates: [
                tools + "/ofa-large/config.json", tools + "/ofa-large/configuration.json",
                tools + "/ofa-large/answer2label.json", vocabulary + "/vocab.json", vocabulary + "/merges.txt",
            ], seed: SyntheticFigures.seed, into: syntheticDirectory)
    }

    func synthetic(backend: Backend) throws -> (DeviceReport.Parity, DeviceReport.Timing) {
        let figures = try SyntheticFigures.read(root + "/Tools/device/synthetic-figures.json")
        let measured = try SyntheticFigures.measure(directory: syntheticDirectory, backend: backend, runs: runs)
        let gpu = backend as? CUDABackend
        if let failure = gpu?.takeFailure() { throw failure }
        let error = Self.largestDifference(measured.figures.probabilities, figures.probabilities)
        // The row's entries are ~1/914 each: compared relative to its largest.
        let attention =
            Self.largestDifference(measured.figures.crossAttentionRow, figures.crossAttentionRow)
            / Double(figures.crossAttentionRow.map(abs).max() ?? 1)
        let parity = DeviceReport.Parity(
            model: "ofa-large-synthetic", precision: backend.precision.rawValue, cases: 1, probabilityError: error,
            attentionError: attention, answersSame: measured.figures.best == figures.best,
            passed: error <= 1e-4 && attention <= 1e-4 && measured.figures.best == figures.best)
        return (parity, measured.timing)
    }
}

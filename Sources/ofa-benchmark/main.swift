// Times the engine on one visual-entailment query: load time, median latency after warm-up, peak RSS, and the
// answer probabilities against the reference's. Usage:
//   ofa-benchmark MODEL_DIR INPUTS.safetensors [--threads N] [--runs N] [--warmup N] [--precision fp32|bf16]
//                 [--compare] [--explain] [--gemm-rate] [--close-call-margin M]
// --close-call-margin: bf16's (default CloseCall.defaultMargin; 1 makes every answer a close call, to time one).
// --gemm-rate adds the float32 (and, where offered, bfloat16) product rate of the backend's library on the model's
// largest product shape, measured in the same process, for the "share of GEMM speed" figure.
// --explain adds relevance, occlusion and faithfulness costs (Explanations.swift).
// INPUTS holds patch_image [3,H,W], source_ids, decoder_ids and optionally probabilities (reference goldens).
import Foundation
import OFA

func option(_ name: String, _ fallback: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count,
        let value = Int(arguments[index + 1])
    else { return fallback }
    return value
}

func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(
        Data("usage: ofa-benchmark MODEL_DIR INPUTS.safetensors [--threads N] [--runs N] [--warmup N]\n".utf8))
    exit(2)
}
do {
    let threads = option("--threads", 2)
    let runs = option("--runs", 5)
    let warmup = option("--warmup", 2)
    let inputs = try TensorFile.read(path: arguments[2])
    // Golden files name tensors `<case>.<name>`; take the first case unless the names are bare.
    let prefix =
        inputs["patch_image"] != nil
        ? ""
        : (inputs.keys.sorted().first { $0.hasSuffix(".patch_image") }?.dropLast("patch_image".count)).map(String.init)
            ?? ""
    func input(_ name: String) throws -> TensorValues {
        guard let value = inputs[prefix + name] else { throw CheckpointError.missingTensor(prefix + name) }
        return value
    }
    let precisionName = CommandLine.arguments.firstIndex(of: "--precision").map { CommandLine.arguments[$0 + 1] }
    guard let precision = Precision(rawValue: precisionName ?? "fp32") else {
        throw BackendError.unsupportedPrecision(
            .float32, backend: "cpu", offered: CPUBackend.offeredPrecisions,
            reason: "unknown precision \(precisionName!)")
    }
    let backend = try CPUBackend(threads: threads, precision: precision)
    let closeCallMargin =
        arguments.firstIndex(of: "--close-call-margin").flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
        .flatMap(Float.init) ?? CloseCall.defaultMargin
    var model: OFAModel!
    let loadSeconds = try seconds { model = try OFAModel(directory: arguments[1], backend: backend) }
    let rssAfterLoad = peakResidentBytes()
    let image = try input("patch_image")
    let source = try input("source_ids").integers
    let prompt = try input("decoder_ids").integers
    var result: Classification!
    var imageSeconds: [Double] = []
    func query() throws {
        var features: ImageFeatures!
        imageSeconds.append(
            seconds {
                features = model.imageFeatures(pixels: image.floats, height: image.shape[1], width: image.shape[2])
            })
        result = try model.classify(
            image: features, sourceTokens: source, decoderTokens: prompt,
            answerTokens: model.answerTokens, closeCallMargin: closeCallMargin)
    }
    for _ in 0..<warmup { try query() }
    var times: [Double] = []
    for _ in 0..<runs { times.append(try seconds(query)) }
    times.sort()
    var report: [String: Any] = [
        "engine": "swift", "threads": backend.threads, "load_s": loadSeconds, "runs": runs,
        "precision": precision.rawValue, "instruction_set": CPUBackend.instructionSet,
        "median_s": times[times.count / 2], "image_backbone_median_s": imageSeconds.suffix(runs).sorted()[runs / 2],
        "min_s": times[0], "max_s": times[times.count - 1],
        "peak_rss_bytes": peakResidentBytes(), "peak_rss_after_load_bytes": rssAfterLoad,
        "probabilities": result.probabilities, "answers": model.task.answers,
        "close_call": result.closeCall, "close_call_margin": closeCallMargin,
    ]
    if let reference = inputs[prefix + "probabilities"]?.floats {
        report["max_abs_difference_vs_reference"] = zip(reference, result.probabilities).map { abs($0 - $1) }.max()
    }
    if CommandLine.arguments.contains("--compare") {
        // Stage by stage against every reference tensor the inputs carry.
        let probe = ForwardProbe()
        let features = model.imageFeatures(
            pixels: image.floats, height: image.shape[1], width: image.shape[2],
            probe: probe)
        let layers = Set((0..<model.configuration.decoderLayers))
        let compared = try model.classify(
            image: features, sourceTokens: source, decoderTokens: prompt,
            answerTokens: model.answerTokens,
            attention: AttentionRequest(
                kinds: Set(AttentionRequest.Kind.allCases),
                layers: layers), probe: probe)
        var differences: [String: [String: Float]] = [:]
        func compare(_ name: String, _ values: [Float]) {
            guard let reference = inputs[prefix + name]?.floats, reference.count == values.count else { return }
            let scale = reference.map(abs).max() ?? 0
            let worst = zip(reference, values).map { abs($0 - $1) }.max() ?? 0
            differences[name] = ["max_abs_difference": worst, "reference_max_abs": scale]
        }
        for (name, tensor) in probe.tensors { compare(name, tensor.values) }
        for map in compared.attention { compare("attention.\(map.kind.rawValue).\(map.layer)", map.values) }
        compare("probabilities", compared.probabilities)
        report["stages"] = differences
    }
    if CommandLine.arguments.contains("--gemm-rate") {
        var rates: [String: Double] = [:]
        for offered in CPUBackend.offeredPrecisions {
            rates[offered.rawValue] = try CPUBackend(threads: threads, precision: offered).productRate()
        }
        report["gemm_gflops"] = rates
        let before = backend.productOperations
        try query()
        report["query_gemm_gflop"] = Double(backend.productOperations - before) / 1e9
    }
    if CommandLine.arguments.contains("--explain") {
        let features = model.imageFeatures(pixels: image.floats, height: image.shape[1], width: image.shape[2])
        report["explain"] = try explanationReport(
            model: model, features: features, source: source, prompt: prompt, runs: max(1, min(runs, 3)),
            operations: { backend.productOperations })
    }
    let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("ofa-benchmark: \(error)\n".utf8))
    exit(1)
}

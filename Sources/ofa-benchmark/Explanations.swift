// `--explain`: what answer-specific explanations cost on one prepared image (the ResNet excluded throughout):
// relevance for one and for three targets as a multiple of one forward pass (and of its product operations: the
// floor the ratio has where every product runs at the same rate), the memory a relevance request adds, and
// occlusion and the faithfulness test in forward passes per second. The first relevance request of the process is
// reported apart: its memory is fresh from the kernel, the later ones reuse it (BufferPool's retention).
import Foundation
import OFA

/// VmRSS or VmHWM of this process, in bytes.
func processMemory(_ field: String) -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
}

/// Resets VmHWM to the current RSS (Linux: writing 5 to clear_refs), so the next peak is the next request's.
func resetPeakMemory() {
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

/// `operations`: the backend's product operations so far.
func explanationReport(
    model: OFAModel, features: ImageFeatures, source: [Int], prompt: [Int], runs: Int, operations: () -> Int
) throws -> [String: Any] {
    let answers = model.answerTokens
    /// The first and the median time of `runs` runs, and the product operations of one.
    func measure(_ body: () throws -> Void) rethrows -> (first: Double, median: Double, operations: Double) {
        var times: [Double] = []
        let before = operations()
        for _ in 0..<runs { times.append(try seconds(body)) }
        return (times[0], times.sorted()[runs / 2], Double(operations() - before) / Double(runs))
    }
    let forward = try measure {
        _ = try model.classify(image: features, sourceTokens: source, decoderTokens: prompt, answerTokens: answers)
    }
    let everyAnswer = (0..<answers.count).map { RelevanceTarget(answer: $0) }
    resetPeakMemory()
    let before = processMemory("VmRSS")
    var relevance: RelevanceResult!
    let one = try measure {
        relevance = try model.relevance(
            image: features, sourceTokens: source, decoderTokens: prompt, answerTokens: answers, targets: [],
            includingPredicted: true)
    }
    let peakOne = processMemory("VmHWM") - before
    let three = try measure {
        _ = try model.relevance(
            image: features, sourceTokens: source, decoderTokens: prompt, answerTokens: answers, targets: everyAnswer)
    }
    var report: [String: Any] = [
        "forward_median_s": forward.median, "relevance_1_target_median_s": one.median,
        "relevance_3_targets_median_s": three.median, "relevance_1_target_first_request_s": one.first,
        "relevance_1_target_x_forward": one.median / forward.median,
        "relevance_3_targets_x_forward": three.median / forward.median,
        "forward_product_gflop": forward.operations / 1e9,
        "relevance_1_target_products_x_forward": one.operations / forward.operations,
        "relevance_3_targets_products_x_forward": three.operations / forward.operations,
        "relevance_peak_rss_added_bytes": peakOne, "grid": "\(features.grid)",
    ]
    // --relevance-only: without the passes of occlusion and faithfulness (minutes on OFA-large).
    if CommandLine.arguments.contains("--relevance-only") { return report }
    let settings = OcclusionSettings(window: 3, stride: 3)
    var occlusionPasses = 0
    let occlusion = try seconds {
        _ = try model.occlusion(
            image: features, sourceTokens: source, decoderTokens: prompt, answerTokens: answers, target: nil,
            settings: settings
        ) { done, _ in
            occlusionPasses = done
            return true
        }
    }
    var faithfulnessPasses = 0
    var areas: FaithfulnessResult!
    let faithfulness = try seconds {
        areas = try model.faithfulness(
            image: features, map: relevance.relevances[0].image, sourceTokens: source, decoderTokens: prompt,
            answerTokens: answers, target: nil
        ) { done, _ in
            faithfulnessPasses = done
            return true
        }
    }
    // The sanity check on this model: relevance's areas against two seeded random maps'.
    var random: [[Double]] = []
    var state: UInt64 = 2026
    for _ in 0..<2 {
        let map = (0..<features.grid.count).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24)
        }
        let result = try model.faithfulness(
            image: features, map: map, sourceTokens: source, decoderTokens: prompt, answerTokens: answers,
            target: nil)
        random.append([result.positive.area, result.negative.area])
    }
    report["faithfulness_relevance_areas_positive_negative"] = [areas.positive.area, areas.negative.area]
    report["faithfulness_random_maps_areas_positive_negative"] = random
    report["occlusion_3x3_passes"] = occlusionPasses
    report["occlusion_3x3_s"] = occlusion
    report["occlusion_passes_per_s"] = Double(occlusionPasses) / occlusion
    report["faithfulness_full_passes"] = faithfulnessPasses
    report["faithfulness_full_s"] = faithfulness
    report["faithfulness_passes_per_s"] = Double(faithfulnessPasses) / faithfulness
    return report
}

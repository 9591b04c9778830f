// Occlusion maps: a window of patches masked at a time (forward passes only; the ResNet ran once), the map the
// drop in the target that masking each patch caused, averaged over the windows that covered it.

public struct OcclusionSettings: Sendable, Equatable {
    /// Side of the square window, in patches.
    public var window: Int
    /// Step between window positions, in patches.
    public var stride: Int
    public var measure: PerturbationMeasure

    public init(window: Int = 3, stride: Int = 3, measure: PerturbationMeasure = .probability) {
        self.window = window
        self.stride = stride
        self.measure = measure
    }

    /// Window origins along a side of `size` patches: every `stride` from 0, plus `size − window` when the last
    /// stride leaves patches uncovered, so every patch is in a window.
    public static func origins(size: Int, window: Int, stride: Int) -> [Int] {
        guard window <= size, window > 0, stride > 0 else { return [] }
        var origins = Array(Swift.stride(from: 0, through: size - window, by: stride))
        if let last = origins.last, last != size - window { origins.append(size - window) }
        return origins
    }

    /// Forward passes on a grid: one per window, plus the unmasked one.
    public func passes(grid: PatchGrid) -> Int {
        Self.origins(size: grid.rows, window: window, stride: stride).count
            * Self.origins(size: grid.columns, window: window, stride: stride).count + 1
    }
}

public struct OcclusionResult: Sendable {
    public struct Window: Sendable, Equatable {
        public let row: Int
        public let column: Int
        /// The target with this window masked.
        public let value: Float
    }

    /// The target explained (the predicted answer's when none was given).
    public let target: RelevanceTarget
    /// The pass with nothing masked, and the target read from it.
    public let unmasked: AnswerScores
    public let base: Float
    public let windows: [Window]
    /// Per patch (row-major): base − the mean over the windows covering it of the masked value.
    public let map: [Float]
}

extension OFAModel {
    public func occlusion(
        image: ImageFeatures, sourceTokens: [Int], decoderTokens: [Int], answerTokens: [Int],
        target requested: RelevanceTarget?, settings: OcclusionSettings, progress: PerturbationProgress? = nil
    ) throws -> OcclusionResult {
        try requested?.check(answers: answerTokens.count)
        let grid = image.grid
        guard settings.window >= 1, settings.window <= min(grid.rows, grid.columns) else {
            throw InputError.windowOutsideGrid(window: settings.window, grid: grid)
        }
        let rows = OcclusionSettings.origins(size: grid.rows, window: settings.window, stride: settings.stride)
        let columns = OcclusionSettings.origins(size: grid.columns, window: settings.window, stride: settings.stride)
        let total = rows.count * columns.count + 1
        func scores(_ kept: [Int]?) throws -> AnswerScores {
            try answerScores(
                image: image, keptPatches: kept, sourceTokens: sourceTokens, decoderTokens: decoderTokens,
                answerTokens: answerTokens)
        }
        let unmasked = try scores(nil)
        let target = requested ?? RelevanceTarget(answer: unmasked.best)
        let base = target.value(of: unmasked, settings.measure)
        if let progress, !progress(1, total) { throw PerturbationCancelled(done: 1, total: total) }
        var windows: [OcclusionResult.Window] = []
        var drops = [Double](repeating: 0, count: grid.count)
        var covered = [Int](repeating: 0, count: grid.count)
        for row in rows {
            for column in columns {
                var masked = Set<Int>()
                for r in row..<(row + settings.window) {
                    for c in column..<(column + settings.window) { masked.insert(r * grid.columns + c) }
                }
                let value = target.value(
                    of: try scores((0..<grid.count).filter { !masked.contains($0) }), settings.measure)
                windows.append(.init(row: row, column: column, value: value))
                for patch in masked {
                    drops[patch] += Double(base - value)
                    covered[patch] += 1
                }
                if let progress, !progress(windows.count + 1, total) {
                    throw PerturbationCancelled(done: windows.count + 1, total: total)
                }
            }
        }
        let map = zip(drops, covered).map { drop, count in count > 0 ? Float(drop / Double(count)) : 0 }
        return OcclusionResult(target: target, unmasked: unmasked, base: base, windows: windows, map: map)
    }
}

/// Text occlusion: the drop in the target when one source token is left out (as padding: masked as a key in the
/// encoder, in cross attention and, where the decoder prompt repeats the source, in the decoder).
public struct TextOcclusionResult: Sendable {
    public struct Token: Sendable, Equatable {
        /// Position in the source (0 = bos).
        public let index: Int
        /// The target with this token left out, and the drop: base − value.
        public let value: Float
        public let drop: Float
    }

    public let target: RelevanceTarget
    public let base: Float
    public let tokens: [Token]
}

extension OFAModel {
    /// One pass per token of `tokens` (source positions). `promptRepeatsSource`: the decoder prompt is the source
    /// without its eos (prompt_type prev_output), so the token is left out of the prompt too.
    public func textOcclusion(
        image: ImageFeatures, sourceTokens: [Int], decoderTokens: [Int], answerTokens: [Int],
        target requested: RelevanceTarget?, tokens: [Int], promptRepeatsSource: Bool,
        measure: PerturbationMeasure = .probability, progress: PerturbationProgress? = nil
    ) throws -> TextOcclusionResult {
        try requested?.check(answers: answerTokens.count)
        let unmasked = try answerScores(
            image: image, sourceTokens: sourceTokens, decoderTokens: decoderTokens, answerTokens: answerTokens)
        let target = requested ?? RelevanceTarget(answer: unmasked.best)
        let base = target.value(of: unmasked, measure)
        let total = tokens.count + 1
        if let progress, !progress(1, total) { throw PerturbationCancelled(done: 1, total: total) }
        var results: [TextOcclusionResult.Token] = []
        for index in tokens {
            let scores = try answerScores(
                image: image, sourceTokens: sourceTokens, decoderTokens: decoderTokens, answerTokens: answerTokens,
                droppedSource: [index], droppedDecoder: promptRepeatsSource ? [index] : [])
            let value = target.value(of: scores, measure)
            results.append(.init(index: index, value: value, drop: base - value))
            if let progress, !progress(results.count + 1, total) {
                throw PerturbationCancelled(done: results.count + 1, total: total)
            }
        }
        return TextOcclusionResult(target: target, base: base, tokens: results)
    }
}

// Attention rollout across encoder layers (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"),
// with the head fusion and discard ratio of jacobgil/vit-explain.
//
// Per layer l (in the order given, input side first): W = heads fused (mean/max/min) of [H, S, S]; optionally the
// ⌊ratio·S²⌋ smallest entries of W are set to 0 (ties: lower flat index first, as a stable argsort); Â = (W + I)/2
// with every row rescaled to sum 1. The rollout is R = Â_L ⋯ Â_2 Â_1: row i says how much each input position
// contributes to encoder output i.

import OFA

public struct AttentionRollout: Sendable {
    public let fusion: HeadFusion
    public let discardRatio: Double
    /// The layers used, in order.
    public let layers: [Int]
    /// Source length S.
    public let size: Int
    private let matrices: [[Float]]

    public init(encoder: [AttentionProbabilities], fusion: HeadFusion = .mean, discardRatio: Double = 0) throws {
        guard let first = encoder.first else { throw MapError.noLayers }
        guard discardRatio >= 0 && discardRatio < 1 else { throw MapError.discardRatioOutOfRange(discardRatio) }
        let size = first.keys
        var matrices: [[Float]] = []
        for layer in encoder {
            guard layer.rows == Array(0..<size) && layer.keys == size else {
                throw MapError.keysMismatch(
                    expected: size, actual: layer.rows.count == size ? layer.keys : layer.rows.count)
            }
            var fused = [Double](repeating: 0, count: size * size)
            for i in 0..<size {
                let row = try layer.fusedRow(i, heads: fusion)
                for j in 0..<size { fused[i * size + j] = row[j] }
            }
            Self.discardSmallest(&fused, ratio: discardRatio)
            var matrix = [Float](repeating: 0, count: size * size)
            for i in 0..<size {
                fused[i * size + i] += 1
                var total = 0.0
                for j in 0..<size { total += fused[i * size + j] }
                for j in 0..<size { matrix[i * size + j] = Float(fused[i * size + j] / total) }
            }
            matrices.append(matrix)
        }
        self.fusion = fusion
        self.discardRatio = discardRatio
        self.layers = encoder.map(\.layer)
        self.size = size
        self.matrices = matrices
    }

    /// v · Â_L ⋯ Â_1 for a row vector over the S encoder outputs: where, among the inputs, v's attention came from.
    public func propagate(_ vector: [Double]) -> [Double] {
        precondition(vector.count == size, "rollout vector must have \(size) entries")
        var v = vector
        for matrix in matrices.reversed() {
            var next = [Double](repeating: 0, count: size)
            matrix.withUnsafeBufferPointer { a in
                for i in 0..<size where v[i] != 0 {
                    let weight = v[i]
                    let row = i * size
                    for j in 0..<size { next[j] += weight * Double(a[row + j]) }
                }
            }
            v = next
        }
        return v
    }

    /// The whole rollout matrix R (S×S, row-major); O(L·S³), for small S and tests.
    public func matrix() -> [Double] {
        var result = [Double](repeating: 0, count: size * size)
        for i in 0..<size {
            var unit = [Double](repeating: 0, count: size)
            unit[i] = 1
            let row = propagate(unit)
            for j in 0..<size { result[i * size + j] = row[j] }
        }
        return result
    }

    /// The value of the given 0-based rank in ascending order (quickselect, median-of-three pivots); reorders `values`.
    static func select(_ values: inout [Double], rank: Int) -> Double {
        var low = 0
        var high = values.count - 1
        while low < high {
            let middle = low + (high - low) / 2
            let pivot = Swift.max(
                Swift.min(values[low], values[middle]), Swift.min(Swift.max(values[low], values[middle]), values[high]))
            var i = low
            var j = high
            while i <= j {
                while values[i] < pivot { i += 1 }
                while values[j] > pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if rank <= j {
                high = j
            } else if rank >= i {
                low = i
            } else {
                return values[rank]
            }
        }
        return values[rank]
    }

    /// Zeroes the ⌊ratio·n⌋ smallest entries, ties broken by lower index (numpy's stable argsort order).
    static func discardSmallest(_ values: inout [Double], ratio: Double) {
        let count = Int((Double(values.count) * ratio).rounded(.down))
        guard count > 0 else { return }
        var copy = values
        let threshold = select(&copy, rank: count - 1)
        var remaining = count - values.lazy.filter { $0 < threshold }.count
        for i in values.indices {
            if values[i] < threshold {
                values[i] = 0
            } else if values[i] == threshold && remaining > 0 {
                values[i] = 0
                remaining -= 1
            }
        }
    }
}

extension Heatmap {
    /// Rollout seen from the answer: the decoder's cross-attention row (heads fused, mean over the given cross layers)
    /// over the S encoder outputs, propagated through the rollout to the inputs, patch block kept.
    public static func rollout(
        _ rollout: AttentionRollout, cross: [AttentionProbabilities], grid: PatchGrid, heads: HeadFusion = .mean,
        row: Int = -1, renormalize: Bool = false
    ) throws -> Heatmap {
        let answer = try meanCrossRow(cross, grid: grid, heads: heads, row: row)
        guard answer.count == rollout.size else {
            throw MapError.keysMismatch(expected: rollout.size, actual: answer.count)
        }
        let method = MapMethod(
            name: "rollout_cross",
            parameters: [
                "encoder_layers": rollout.layers.map(String.init).joined(separator: ","),
                "fusion": rollout.fusion.description, "discard_ratio": String(rollout.discardRatio),
                "cross_layers": cross.map { String($0.layer) }.joined(separator: ","), "heads": heads.description,
                "row": String(row), "renormalized": String(renormalize),
            ])
        let flowed = rollout.propagate(answer)
        return Heatmap(grid: grid, doubles: patchSlice(flowed, grid: grid, renormalize: renormalize), method: method)
    }

    /// Rollout seen from text tokens: the mean of the selected tokens' rollout rows, patch block kept.
    public static func rollout(
        _ rollout: AttentionRollout, tokens: TokenSelection, grid: PatchGrid, renormalize: Bool = false
    ) throws -> Heatmap {
        guard rollout.size > grid.count else {
            throw MapError.keysMismatch(expected: grid.count + 1, actual: rollout.size)
        }
        let textCount = rollout.size - grid.count
        let indices = tokens.indices
        guard !indices.isEmpty else { throw MapError.noTokens }
        var start = [Double](repeating: 0, count: rollout.size)
        for token in indices {
            guard token >= 0 && token < textCount else { throw MapError.tokenOutOfRange(token, tokens: textCount) }
            start[grid.count + token] += 1 / Double(indices.count)
        }
        let method = MapMethod(
            name: "rollout_tokens",
            parameters: [
                "encoder_layers": rollout.layers.map(String.init).joined(separator: ","),
                "fusion": rollout.fusion.description, "discard_ratio": String(rollout.discardRatio),
                "tokens": tokens.description, "renormalized": String(renormalize),
            ])
        let flowed = rollout.propagate(start)
        return Heatmap(grid: grid, doubles: patchSlice(flowed, grid: grid, renormalize: renormalize), method: method)
    }
}

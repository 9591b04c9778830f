// Encoder self-attention from text tokens to the image patches (ofa-spec §8: rows patches.., columns 0..<patches).

import OFA

/// Which text tokens' rows to use; indices count source tokens (0 = bos), i.e. encoder row patches + index.
public enum TokenSelection: Sendable, Equatable, Codable, CustomStringConvertible {
    case token(Int)
    /// The mean over these tokens' rows (e.g. the hypothesis's tokens).
    case mean([Int])

    public var indices: [Int] {
        switch self {
        case .token(let token): return [token]
        case .mean(let tokens): return tokens
        }
    }

    public var description: String {
        switch self {
        case .token(let token): return String(token)
        case .mean(let tokens): return "mean(" + tokens.map(String.init).joined(separator: ",") + ")"
        }
    }
}

extension Heatmap {
    /// One encoder layer → the selected tokens' attention to the patches (heads fused per token row, then averaged
    /// over tokens; renormalised over the patch block if asked). The map's recorded rows must include the tokens'
    /// encoder positions (patches first, so token t is position grid.count + t).
    public static func textToImage(
        _ attention: AttentionProbabilities, grid: PatchGrid, tokens: TokenSelection, heads: HeadFusion = .mean,
        renormalize: Bool = false
    ) throws -> Heatmap {
        guard attention.keys > grid.count else {
            throw MapError.keysMismatch(expected: grid.count + 1, actual: attention.keys)
        }
        let textCount = attention.keys - grid.count
        let indices = tokens.indices
        guard !indices.isEmpty else { throw MapError.noTokens }
        var sum = [Double](repeating: 0, count: attention.keys)
        for token in indices {
            guard token >= 0 && token < textCount else { throw MapError.tokenOutOfRange(token, tokens: textCount) }
            let position = grid.count + token
            guard let query = attention.rows.firstIndex(of: position) else {
                throw MapError.rowOutOfRange(position, queries: attention.rows.count)
            }
            let fused = try attention.fusedRow(query, heads: heads)
            for k in sum.indices { sum[k] += fused[k] }
        }
        let mean = sum.map { $0 / Double(indices.count) }
        let method = MapMethod(
            name: "encoder_text_to_image",
            parameters: [
                "layer": String(attention.layer), "heads": heads.description, "tokens": tokens.description,
                "renormalized": String(renormalize),
            ])
        return Heatmap(grid: grid, doubles: patchSlice(mean, grid: grid, renormalize: renormalize), method: method)
    }
}

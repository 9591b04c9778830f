// Which method produced a map and which steps changed it since, so every output can say how it was made.

public struct MapMethod: Sendable, Equatable, Codable, CustomStringConvertible {
    /// "cross_attention", "encoder_text_to_image", "rollout_cross", "rollout_tokens", "layer_mean".
    public var name: String
    /// The method's parameters (layers, heads, row, tokens, renormalized, fusion, discard_ratio …), as text.
    public var parameters: [String: String]
    /// Processing applied afterwards, in order ("gaussian(sigma=1.0, mode=reflect, truncate=4.0)",
    /// "temperature(0.5)", "min_max").
    public var steps: [String]

    public init(name: String, parameters: [String: String] = [:], steps: [String] = []) {
        self.name = name
        self.parameters = parameters
        self.steps = steps
    }

    public func adding(step: String) -> MapMethod {
        MapMethod(name: name, parameters: parameters, steps: steps + [step])
    }

    /// e.g. `cross_attention(heads=mean, layer=3, renormalized=true, row=-1) | gaussian(sigma=1.0…)`.
    public var description: String {
        let arguments = parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" }.joined(separator: ", ")
        return ([name + "(" + arguments + ")"] + steps).joined(separator: " | ")
    }

    /// A short label for an image: "cross L3 mean", "rollout max".
    public var shortLabel: String {
        var parts: [String] = []
        switch name {
        case "cross_attention": parts.append("cross")
        case "encoder_text_to_image": parts.append("text->image")
        case "rollout_cross", "rollout_tokens": parts.append("rollout")
        default: parts.append(name)
        }
        if let layer = parameters["layer"] { parts.append("L" + layer) }
        if let layers = parameters["layers"] { parts.append("L" + layers) }
        if let fusion = parameters["fusion"] {
            parts.append(fusion)
        } else if let heads = parameters["heads"] {
            parts.append(heads)
        }
        return parts.joined(separator: " ")
    }
}

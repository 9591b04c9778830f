// What the page may ask, checked key by key and rebuilt as daemon params. Only keys listed here are forwarded,
// and the image is always bytes: a page can never make ofad open a file by path.
import Foundation
import OFAWire

/// The image and text every question carries.
struct PageQuery {
    var imageBase64: String
    var hypothesis: String
    var premise: String?

    /// Keys every API body may have.
    static let commonKeys: Set<String> = ["image", "hypothesis", "premise"]

    init(_ body: [String: JSONValue], maximumTextLength: Int) throws {
        guard case .string(var image)? = body["image"] else {
            throw WebError.badRequest("\"image\" must be the image file's bytes in base64 (choose an image first).")
        }
        // A data: URL as FileReader.readAsDataURL makes it is accepted too.
        if image.hasPrefix("data:"), let comma = image.firstIndex(of: ",") {
            image = String(image[image.index(after: comma)...])
        }
        guard let bytes = Data(base64Encoded: image), !bytes.isEmpty else {
            throw WebError.badRequest("\"image\" is not base64 data (choose an image first).")
        }
        imageBase64 = image
        guard case .string(let hypothesis)? = body["hypothesis"] else {
            throw WebError.badRequest("\"hypothesis\" must be a string.")
        }
        let trimmed = hypothesis.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw WebError.badRequest("Type a hypothesis: a sentence about the image.") }
        guard hypothesis.count <= maximumTextLength else {
            throw WebError.textTooLong(field: "hypothesis", length: hypothesis.count, limit: maximumTextLength)
        }
        self.hypothesis = hypothesis
        switch body["premise"] {
        case nil, .null?: premise = nil
        case .string(let text)?:
            guard text.count <= maximumTextLength else {
                throw WebError.textTooLong(field: "premise", length: text.count, limit: maximumTextLength)
            }
            premise = text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : text
        default: throw WebError.badRequest("\"premise\" must be a string.")
        }
    }

    /// image, hypothesis and premise as the daemon reads them.
    var params: [String: JSONValue] {
        var params: [String: JSONValue] = ["image": ["data": .string(imageBase64)], "hypothesis": .string(hypothesis)]
        if let premise { params["premise"] = .string(premise) }
        return params
    }

    /// Parses a JSON object body, refusing keys outside `allowed`.
    static func object(_ body: [UInt8], allowed: Set<String>) throws -> [String: JSONValue] {
        guard case .object(let members)? = try? JSONValue(parsing: body) else {
            throw WebError.badRequest("The request body is not a JSON object.")
        }
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw WebError.badRequest("Unknown key \"\(unknown)\".")
        }
        return members
    }
}

/// `render`'s options: each one checked for type and range, then passed on under the daemon's name.
enum RenderOptionsQuery {
    static let outputs = ["overlay", "grid", "animation", "npy"]
    static let sources = ["cross", "encoder", "rollout"]
    static let colormaps = ["jet", "viridis", "inferno", "gray"]
    static let headFusions = ["mean", "max", "min"]
    static let keys: Set<String> = [
        "output", "source", "layers", "heads", "colormap", "alpha", "smoothing", "temperature", "colorbar",
        "max_side", "frame_delay_ms", "loop", "token", "fusion", "discard_ratio", "columns", "shared_scale",
        "focus_threshold", "top_k",
    ]

    static func params(_ body: [String: JSONValue]) throws -> [String: JSONValue] {
        var params: [String: JSONValue] = [:]
        func choice(_ key: String, _ allowed: [String]) throws {
            guard let value = body[key], value != .null else { return }
            guard let text = value.stringValue, allowed.contains(text) else {
                throw WebError.badRequest("\"\(key)\" must be one of \(allowed.joined(separator: ", ")).")
            }
            params[key] = value
        }
        func number(_ key: String, _ range: ClosedRange<Double>) throws {
            guard let value = body[key], value != .null else { return }
            let number: Double
            switch value {
            case .integer(let n): number = Double(n)
            case .number(let n): number = n
            default: throw WebError.badRequest("\"\(key)\" must be a number.")
            }
            guard range.contains(number) else {
                throw WebError.badRequest("\"\(key)\" must lie in \(range.lowerBound)…\(range.upperBound).")
            }
            params[key] = value
        }
        func integer(_ key: String, _ range: ClosedRange<Int64>) throws {
            guard let value = body[key], value != .null else { return }
            guard case .integer(let n) = value, range.contains(n) else {
                throw WebError.badRequest(
                    "\"\(key)\" must be a whole number in \(range.lowerBound)…\(range.upperBound).")
            }
            params[key] = value
        }
        func flag(_ key: String) throws {
            guard let value = body[key], value != .null else { return }
            guard case .bool = value else { throw WebError.badRequest("\"\(key)\" must be true or false.") }
            params[key] = value
        }
        // Ranges as docs/protocol.md gives them for render.
        try choice("output", outputs)
        try choice("source", sources)
        try choice("colormap", colormaps)
        try choice("fusion", headFusions)
        try number("alpha", 0...1)
        try number("smoothing", 0...64)
        try number("temperature", 0.001...1000)
        try number("discard_ratio", 0...0.999)
        try number("focus_threshold", 0...1)
        try flag("colorbar")
        try flag("shared_scale")
        try integer("max_side", 16...4096)
        try integer("columns", 1...64)
        try integer("frame_delay_ms", 10...60_000)
        try integer("loop", 0...65535)
        try integer("top_k", 0...1000)
        try integer("token", 0...4096)
        switch body["layers"] {
        case nil, .null?: break
        case .string("all")?: params["layers"] = "all"
        case .array(let layers)? where !layers.isEmpty && layers.count <= 64:
            // Negative numbers count from the last layer.
            guard
                layers.allSatisfy({
                    if case .integer(let n) = $0 { return (-1024..<1024).contains(n) } else { return false }
                })
            else { throw WebError.badRequest("\"layers\" must be a list of layer numbers, or \"all\".") }
            params["layers"] = .array(layers)
        default: throw WebError.badRequest("\"layers\" must be a list of layer numbers, or \"all\".")
        }
        switch body["heads"] {
        case nil, .null?: break
        case .string(let fusion)? where headFusions.contains(fusion): params["heads"] = .string(fusion)
        case .integer(let head)? where (0..<1024).contains(head): params["heads"] = .integer(head)
        default: throw WebError.badRequest("\"heads\" must be mean, max, min or a head number.")
        }
        return params
    }
}

/// `attention`'s selection, for pages that draw the map themselves.
enum AttentionSelectionQuery {
    static let keys: Set<String> = ["kinds", "layers", "heads", "head_mean", "query_position"]

    static func params(_ body: [String: JSONValue]) throws -> JSONValue? {
        guard let value = body["attention"], value != .null else { return nil }
        guard case .object(let members) = value else { throw WebError.badRequest("\"attention\" must be an object.") }
        if let unknown = members.keys.sorted().first(where: { !keys.contains($0) }) {
            throw WebError.badRequest("Unknown key \"attention.\(unknown)\".")
        }
        do {
            return try JSONValue(encoding: try value.decode(AttentionSelection.self))
        } catch {
            throw WebError.badRequest(
                "\"attention\" is not a valid selection (kinds, layers, heads, head_mean, query_position).")
        }
    }
}

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

/// `render`'s options: the explanation contract's keys (OFAWire's ExplanationParameter), checked by the same
/// RenderSettings the daemon uses, then passed on unchanged.
enum RenderOptionsQuery {
    static let keys = Set(ExplanationParameter.all.map(\.key))

    /// The query's params with the body's render options added, once RenderSettings accepts them.
    static func params(_ body: [String: JSONValue], query: PageQuery) throws -> [String: JSONValue] {
        var params = query.params
        for key in keys {
            if let value = body[key], value != .null { params[key] = value }
        }
        do {
            _ = try RenderSettings(try JSONValue.object(params).decodeParameters(RenderParams.self))
        } catch let error as ParameterError {
            throw WebError.badRequest("\(error).")
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

// The task settings read from a model directory's configuration.json (modelscope) and its answer2label file.
import Foundation

/// Visual-entailment task settings. Defaults are modelscope's code defaults (spec §1.4).
public struct TaskConfiguration: Equatable, Sendable {
    public enum PromptType: String, Sendable {
        case previousOutput = "prev_output"
        case none
    }

    public var patchImageSize = 480
    public var maximumSourceLength = 256
    public var promptType = PromptType.none
    /// ImageNet mean/std when true, else 0.5/0.5.
    public var imagenetMeanAndStandardDeviation = false
    /// Replaces both prompt templates when set.
    public var prompt: String?
    /// Answer strings in file order (e.g. no, yes, maybe) with their label indices.
    public var answers: [String] = []

    public init() {}

    public var mean: [Float] { imagenetMeanAndStandardDeviation ? [0.485, 0.456, 0.406] : [0.5, 0.5, 0.5] }
    public var standardDeviation: [Float] {
        imagenetMeanAndStandardDeviation ? [0.229, 0.224, 0.225] : [0.5, 0.5, 0.5]
    }

    /// Reads `configuration.json` and the answer-to-label JSON it names.
    public static func load(directory: URL) throws -> TaskConfiguration {
        let file = directory.appendingPathComponent("configuration.json")
        let object = try JSONFile.object(at: file)
        guard let model = object["model"] as? [String: Any] else {
            throw ConfigurationError.malformed(file: "configuration.json", reason: "no \"model\" section")
        }
        var configuration = TaskConfiguration()
        if let value = model["patch_image_size"] {
            guard let size = value as? Int, size > 0 else {
                throw ConfigurationError.invalid(key: "model.patch_image_size", reason: "must be a positive integer")
            }
            configuration.patchImageSize = size
        }
        if let value = model["max_src_length"] {
            guard let length = value as? Int, length > 0 else {
                throw ConfigurationError.invalid(key: "model.max_src_length", reason: "must be a positive integer")
            }
            configuration.maximumSourceLength = length
        }
        if let value = model["prompt_type"] {
            guard let text = value as? String, let type = PromptType(rawValue: text) else {
                throw ConfigurationError.unsupported(key: "model.prompt_type", value: "\(value)")
            }
            configuration.promptType = type
        }
        // ofad scores the answers as modelscope's traverse path does (spec §7.2). "generation" (modelscope's default
        // when the key is absent) decodes text and reports score 1.0: a different result, so it is refused.
        guard let generation = model["gen_type"] as? String, generation == "traverse" else {
            throw ConfigurationError.invalid(
                key: "model.gen_type",
                reason: "is \(model["gen_type"].map { "\($0)" } ?? "absent (modelscope's default: generation)"); "
                    + "ofad implements \"traverse\" only, as the published SNLI-VE model uses")
        }
        if let value = model["imagenet_default_mean_and_std"] {
            guard let flag = value as? Bool else {
                throw ConfigurationError.invalid(
                    key: "model.imagenet_default_mean_and_std", reason: "must be a boolean")
            }
            configuration.imagenetMeanAndStandardDeviation = flag
        }
        if let value = model["prompt"], !(value is NSNull) {
            guard let text = value as? String else {
                throw ConfigurationError.invalid(key: "model.prompt", reason: "must be a string")
            }
            configuration.prompt = text
        }
        guard let labelFile = model["answer2label"] as? String else {
            throw ConfigurationError.invalid(key: "model.answer2label", reason: "names no answer-to-label JSON file")
        }
        configuration.answers = try readAnswers(directory.appendingPathComponent(labelFile), name: labelFile)
        return configuration
    }

    /// Keys of the answer2label JSON in file order (JSONSerialization loses order, so keys are scanned).
    static func readAnswers(_ url: URL, name: String) throws -> [String] {
        let object = try JSONFile.object(at: url)
        let keys = try JSONFile.orderedKeys(at: url)
        guard !keys.isEmpty, Set(keys) == Set(object.keys) else {
            throw ConfigurationError.malformed(file: name, reason: "expected a non-empty object of answers")
        }
        return keys
    }
}

/// Small JSON helpers for model-directory files.
enum JSONFile {
    static func data(at url: URL) throws -> Data {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ConfigurationError.missingFile(url.path)
        }
        return try Data(contentsOf: url)
    }

    static func object(at url: URL) throws -> [String: Any] {
        let bytes = try data(at: url)
        guard let object = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any] else {
            throw ConfigurationError.malformed(file: url.lastPathComponent, reason: "not a JSON object")
        }
        return object
    }

    /// Top-level keys of a flat JSON object, in file order.
    static func orderedKeys(at url: URL) throws -> [String] {
        let text = String(decoding: try data(at: url), as: UTF8.self)
        var keys: [String] = []
        var depth = 0
        var index = text.unicodeScalars.startIndex
        let scalars = text.unicodeScalars
        var expectKey = false
        while index < scalars.endIndex {
            let scalar = scalars[index]
            switch scalar {
            case "{", "[":
                depth += 1
                expectKey = scalar == "{" && depth == 1
            case "}", "]": depth -= 1
            case ",": expectKey = depth == 1
            case "\"":
                var end = scalars.index(after: index)
                var raw = "\""
                while end < scalars.endIndex, scalars[end] != "\"" {
                    raw.unicodeScalars.append(scalars[end])
                    if scalars[end] == "\\" {
                        end = scalars.index(after: end)
                        raw.unicodeScalars.append(scalars[end])
                    }
                    end = scalars.index(after: end)
                }
                raw += "\""
                if expectKey,
                    let key = (try? JSONSerialization.jsonObject(with: Data(raw.utf8), options: .fragmentsAllowed))
                        as? String
                {
                    keys.append(key)
                    expectKey = false
                }
                index = end
            default: break
            }
            index = scalars.index(after: index)
        }
        return keys
    }
}

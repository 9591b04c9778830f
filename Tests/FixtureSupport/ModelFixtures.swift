// The tiny model directories: tiny-a and tiny-b are committed (Tools/fixtures/make_engine_fixtures.py); tiny-a's
// safetensors and fairseq copies are derived from the committed tiny-a once per test process, into a temporary
// folder removed at exit, as make_engine_fixtures.py --variants writes them. With OFAD_DERIVED_FIXTURES=DIR they
// are written into DIR and kept (make_engine_fixtures.py --check-variants DIR checks them with PyTorch).
import Foundation
import OFA

public enum ModelFixtures {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models")

    /// Names of the copies made at test time.
    public static let derivedNames = ["tiny-a-safetensors", "tiny-a-fairseq"]

    /// A committed model directory ("tiny-a", "tiny-b") or a derived one ("tiny-a-safetensors", "tiny-a-fairseq").
    public static func directory(_ name: String) throws -> String {
        guard derivedNames.contains(name) else { return root.appendingPathComponent(name).path }
        return try derived.get().appendingPathComponent(name).path
    }

    private static let derived = Result { () throws -> URL in
        if let kept = ProcessInfo.processInfo.environment["OFAD_DERIVED_FIXTURES"], !kept.isEmpty {
            let folder = URL(fileURLWithPath: kept)
            try DerivedModels.write(from: root.appendingPathComponent("tiny-a"), into: folder)
            return folder
        }
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("ofad-derived-fixtures-\(getpid())-\(UUID().uuidString)")
        derivedFolder = folder.path
        atexit {
            if let folder = ModelFixtures.derivedFolder { try? FileManager.default.removeItem(atPath: folder) }
        }
        try DerivedModels.write(from: root.appendingPathComponent("tiny-a"), into: folder)
        return folder
    }

    nonisolated(unsafe) private static var derivedFolder: String?
}

/// Writers of tiny-a's other checkpoint formats (mirroring make_engine_fixtures.py's save_safetensors and
/// save_fairseq_checkpoint).
enum DerivedModels {
    /// The files besides the weights; vocabulary links are resolved, so each copy is a plain model directory.
    static let companionFiles = ["config.json", "configuration.json", "answer2label.json", "vocab.json", "merges.txt"]
    /// The tied token embedding's names in a modelscope state dict; safetensors keeps only the middle one.
    static let tiedNames = [
        "encoder.embed_tokens.weight", "decoder.embed_tokens.weight",
        "decoder.output_projection.weight",
    ]

    static func write(from source: URL, into folder: URL) throws {
        let tensors = try TensorFile.read(path: source.appendingPathComponent("pytorch_model.bin").path)
        let safetensors = folder.appendingPathComponent("tiny-a-safetensors")
        try copyCompanions(from: source, to: safetensors)
        try Data(safetensorsFile(tensors)).write(to: safetensors.appendingPathComponent("model.safetensors"))
        let fairseq = folder.appendingPathComponent("tiny-a-fairseq")
        try copyCompanions(from: source, to: fairseq)
        let arguments = try fairseqArguments(modelDirectory: source, name: "tiny-a")
        try Data(fairseqCheckpoint(tensors, arguments: arguments))
            .write(to: fairseq.appendingPathComponent("checkpoint.pt"))
    }

    static func copyCompanions(from source: URL, to target: URL) throws {
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        for name in companionFiles {
            try Data(contentsOf: source.appendingPathComponent(name).resolvingSymlinksInPath())
                .write(to: target.appendingPathComponent(name))
        }
    }

    /// Tied copies dropped as safetensors' save_model drops them: only decoder.embed_tokens.weight stays. fp32.
    static func safetensorsFile(_ tensors: [String: TensorValues]) -> [UInt8] {
        var entries: [String: (shape: [Int], values: SafetensorsWriter.Element)] = [:]
        for (name, tensor) in tensors where name == tiedNames[1] || !tiedNames.contains(name) {
            entries[name] = (tensor.shape, tensor.integers.isEmpty ? .float32(tensor.floats) : .int64(tensor.integers))
        }
        return SafetensorsWriter.file(entries)
    }

    /// modelscope → fairseq module names inside `encoder.layers.N.` / `decoder.layers.N.` (make_engine_fixtures.py
    /// TO_FAIRSEQ).
    static let fairseqModules: [String: [String: String]] = [
        "encoder": ["self_attn_mid_layer_norm": "attn_ln", "ffn_layer_norm": "ffn_layernorm"],
        "decoder": [
            "self_attn_mid_layer_norm": "self_attn_ln", "cross_attn_mid_layer_norm": "cross_attn_ln",
            "cross_attn_layer_norm": "encoder_attn_layer_norm", "cross_attn": "encoder_attn",
            "ffn_layer_norm": "ffn_layernorm",
        ],
    ]

    static func fairseqName(_ name: String) -> String {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 4, parts[1] == "layers", Int(parts[2]) != nil,
            let renamed = fairseqModules[parts[0]]?[parts[3]]
        else { return name }
        parts[3] = renamed
        return parts.joined(separator: ".")
    }

    /// fairseq's `args` for a model directory (make_engine_fixtures.py fairseq_args).
    static func fairseqArguments(modelDirectory: URL, name: String) throws -> [(String, PickleItem)] {
        func object(_ file: String) throws -> [String: Any] {
            let data = try Data(contentsOf: modelDirectory.appendingPathComponent(file))
            return try JSONSerialization.jsonObject(with: data) as! [String: Any]
        }
        let config = try object("config.json")
        let task = try object("configuration.json")["model"] as! [String: Any]
        func integer(_ key: String) -> PickleItem { .integer(config[key] as! Int) }
        return [
            ("arch", .string("ofa_\(name)-test")), ("task", .string("snli_ve")),
            ("encoder_embed_dim", integer("d_model")), ("decoder_embed_dim", integer("d_model")),
            ("encoder_layers", integer("encoder_layers")), ("decoder_layers", integer("decoder_layers")),
            ("encoder_attention_heads", integer("encoder_attention_heads")),
            ("decoder_attention_heads", integer("decoder_attention_heads")),
            ("encoder_ffn_embed_dim", integer("encoder_ffn_dim")),
            ("decoder_ffn_embed_dim", integer("decoder_ffn_dim")),
            ("resnet_type", .string(config["resnet_type"] as! String)), ("token_bucket_size", .integer(256)),
            ("image_bucket_size", .integer(42)), ("patch_image_size", .integer(task["patch_image_size"] as! Int)),
            ("attn_scale_factor", .float(2.0)), ("scale_attn", .bool(true)), ("scale_fc", .bool(true)),
            ("scale_heads", .bool(true)), ("scale_resids", .bool(false)), ("normformer", .bool(true)),
            ("share_all_embeddings", .bool(true)), ("layernorm_embedding", .bool(true)),
            ("patch_layernorm_embedding", .bool(true)), ("code_layernorm_embedding", .bool(true)),
            ("add_type_embedding", .bool(true)), ("disable_entangle", .bool(true)),
            ("prompt_type", .string("prev_output")), ("fp16", .bool(true)),
        ]
    }

    /// `{'args': Namespace, 'model': fp16 state dict with fairseq names, 'optimizer_history', 'extra_state'}`; the
    /// tied embedding is one storage; `encoder.version`/`decoder.version` = [3]; decoder.image_position_idx gets
    /// fairseq's 1026th entry (1024).
    static func fairseqCheckpoint(_ tensors: [String: TensorValues], arguments: [(String, PickleItem)]) throws
        -> [UInt8]
    {
        var writer = TorchArchiveWriter()
        var model: [(String, PickleItem)] = []
        var tiedStorage: String?
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            var key: String
            if !tensor.integers.isEmpty {
                var integers = tensor.integers
                var shape = tensor.shape
                if name == "decoder.image_position_idx" {
                    integers.append(1024)
                    shape = [integers.count]
                }
                key = writer.addStorage(integers: integers)
                model.append((fairseqName(name), .tensor(storage: key, offset: 0, shape: shape)))
                continue
            }
            if tiedNames.contains(name), let tied = tiedStorage {
                key = tied
            } else {
                key = try writer.addStorage(floats: tensor.floats, as: .float16)
                if tiedNames.contains(name) { tiedStorage = key }
            }
            model.append((fairseqName(name), .tensor(storage: key, offset: 0, shape: tensor.shape)))
        }
        for name in ["encoder.version", "decoder.version"] {
            let key = try writer.addStorage(floats: [3], as: .float16)
            model.append((name, .tensor(storage: key, offset: 0, shape: [1])))
        }
        let checkpoint: PickleItem = .dictionary([
            ("args", .namespace(arguments)),
            ("model", .orderedDictionary(model)),
            (
                "optimizer_history",
                .list([
                    .dictionary([
                        ("criterion_name", .string("AdjustLabelSmoothedCrossEntropyCriterion")),
                        ("optimizer_name", .string("FairseqAdam")),
                        ("lr_scheduler_state", .dictionary([("best", .float(0))])), ("num_updates", .integer(0)),
                    ])
                ])
            ),
            (
                "extra_state",
                .dictionary([
                    ("epoch", .integer(1)), ("val_loss", .float(0)), ("previous_epoch_completed", .bool(true)),
                ])
            ),
        ])
        return try writer.archive(checkpoint, name: "checkpoint")
    }
}

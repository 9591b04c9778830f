// The one table of checkpoint names: prefixes stripped, fairseq → modelscope renames, tied names, ignore list.

enum CheckpointKeys {
    /// HF/modelscope exports may prefix every key with the base-model prefix (`base_model_prefix = 'model'`).
    static let strippedPrefixes = ["model."]

    /// fairseq (OFA-Sys .pt) layer-module names → modelscope names, per side, applied to `<side>.layers.N.<name>`.
    /// Ordered as in spec §9.4.
    static let layerRenames: [(side: String, fairseq: String, modelscope: String)] = [
        ("encoder", "attn_ln", "self_attn_mid_layer_norm"),
        ("encoder", "ffn_layernorm", "ffn_layer_norm"),
        ("decoder", "self_attn_ln", "self_attn_mid_layer_norm"),
        ("decoder", "cross_attn_ln", "cross_attn_mid_layer_norm"),
        ("decoder", "encoder_attn", "cross_attn"),
        ("decoder", "encoder_attn_layer_norm", "cross_attn_layer_norm"),
        ("decoder", "ffn_layernorm", "ffn_layer_norm"),
    ]

    /// One tied V×d matrix under any of these names (the first present is read).
    static let tiedEmbedding = [
        "encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "decoder.output_projection.weight",
    ]

    /// Tensors a checkpoint may carry that visual entailment does not use. Anything else left over is an error.
    static func isIgnored(_ name: String) -> Bool {
        // BatchNorm step counters: training state only.
        if name.hasSuffix(".num_batches_tracked") { return true }
        // Relative-position bucket buffers and the decoder's image position index: recomputed here.
        if name.hasSuffix("_rp_bucket") || name == "decoder.image_position_idx" { return true }
        // fairseq module version markers.
        if name == "encoder.version" || name == "decoder.version" { return true }
        // Decoder parameters used only when generating image codes (code_masks), never for visual entailment.
        let imageCodePrefixes = [
            "decoder.embed_image_positions.", "decoder.image_pos_ln.", "decoder.code_layernorm_embedding.",
            "decoder.image_rel_pos_table_list.",
        ]
        return imageCodePrefixes.contains { name.hasPrefix($0) }
    }

    /// The modelscope name for a key of any supported dialect.
    static func normalize(_ key: String) -> String {
        var name = key
        for prefix in strippedPrefixes where name.hasPrefix(prefix) { name.removeFirst(prefix.count) }
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 3, parts[1] == "layers",
            let rename = layerRenames.first(where: { $0.side == parts[0] && $0.fairseq == parts[3] })
        {
            parts[3] = rename.modelscope
            name = parts.joined(separator: ".")
        }
        return name
    }
}

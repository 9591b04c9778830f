// Chefer et al. 2021 relevance propagation for an encoder-decoder, without LRP, as hila-chefer/Transformer-MM-
// Explainability DETR/modules/ExplanationGenerator.py `generate_ours(..., use_lrp=False)` with its defaults
// (normalize_self_attention=True, apply_self_in_rule_10=True): every step a backend matrix operation.
//
//   R^ee = I; per encoder layer       R^ee += Ā · R^ee                        (handle_self_attention_image)
//   R^dd = I, R^de = 0; per decoder layer, self attention first:
//                                     R^dd += Ā · R^dd,  R^de += Ā · R^de     (handle_co_attn_self_query)
//   then cross attention              R^de += nan→0((R̄^dd)ᵀ · Ā · R̄^ee)       (handle_co_attn_query)
//   with R̄ = rownorm(R − I) + I (handle_residual) and Ā = mean over heads of (∇A ⊙ A)⁺ (avg_heads).
//
// R^dd in the cross step is the one after this layer's self-attention update, R̄^ee the encoder's final one; a row
// of R − I that sums to 0 turns the whole cross addition to NaN and so to 0, as in the reference.

struct RelevanceRules {
    let backend: Backend

    struct Matrices {
        /// `[S, S]` encoder tokens × encoder tokens.
        let encoder: Tensor
        /// `[T, T]` decoder rows × decoder rows.
        let decoder: Tensor
        /// `[T, S]` decoder rows × encoder tokens.
        let cross: Tensor
    }

    /// `encoder`: Ā `[S, S]` per encoder layer; `decoderSelf` `[T, T]` and `cross` `[T, S]` per decoder layer.
    func propagate(encoder: [Tensor], decoderSelf: [Tensor], cross: [Tensor]) -> Matrices {
        precondition(decoderSelf.count == cross.count, "one self and one cross map per decoder layer")
        guard let sourceLength = (encoder.first ?? cross.first)?.shape.last,
            let decoderLength = (decoderSelf.first?.shape.first ?? cross.first?.shape.first)
        else { preconditionFailure("relevance needs at least one attention map") }
        var encoderRelevance = backend.identity(sourceLength)
        for weighted in encoder {
            encoderRelevance = backend.add(
                encoderRelevance, backend.matrixProduct(weighted, encoderRelevance, transposingA: false))
        }
        let encoderNormalized = backend.residualNormalized(encoderRelevance)
        var decoderRelevance = backend.identity(decoderLength)
        var crossRelevance = backend.zeros(shape: [decoderLength, sourceLength])
        for (selfWeighted, crossWeighted) in zip(decoderSelf, cross) {
            let decoderAddition = backend.matrixProduct(selfWeighted, decoderRelevance, transposingA: false)
            crossRelevance = backend.add(
                crossRelevance, backend.matrixProduct(selfWeighted, crossRelevance, transposingA: false))
            decoderRelevance = backend.add(decoderRelevance, decoderAddition)
            let addition = backend.matrixProduct(
                backend.residualNormalized(decoderRelevance),
                backend.matrixProduct(crossWeighted, encoderNormalized, transposingA: false), transposingA: true)
            backend.zeroNaNInPlace(addition)
            crossRelevance = backend.add(crossRelevance, addition)
        }
        return Matrices(encoder: encoderRelevance, decoder: decoderRelevance, cross: crossRelevance)
    }
}

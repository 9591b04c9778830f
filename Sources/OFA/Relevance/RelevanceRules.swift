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
//
// Only Ā · R̄^ee enters the decoder, for each layer's few decoder rows, so unless R^ee itself is asked for it is
// never formed (12 products of [S, S] by [S, S], 18 GFLOP for OFA-large): with R^ee = (I + Ā_L)⋯(I + Ā_1) and D the
// row sums of R^ee − I, X · R̄^ee = Z · R^ee − Z + X for Z = X · D⁻¹, where D = R^ee · 1 − 1 takes products with a
// vector and Z · R^ee products with every layer's stacked cross maps (3 GFLOP).

struct RelevanceRules {
    let backend: Backend

    struct Matrices {
        /// `[S, S]` encoder tokens × encoder tokens, when kept.
        let encoder: Tensor?
        /// `[T, T]` decoder rows × decoder rows.
        let decoder: Tensor
        /// `[T, S]` decoder rows × encoder tokens.
        let cross: Tensor
    }

    /// `encoder`: Ā `[S, S]` per encoder layer; `decoderSelf` `[T, T]` and `cross` `[T, S]` per decoder layer.
    /// `keepingEncoder`: R^ee formed and returned (else it is only when a row of R^ee − I sums to 0).
    func propagate(encoder: [Tensor], decoderSelf: [Tensor], cross: [Tensor], keepingEncoder: Bool = true)
        -> Matrices
    {
        precondition(decoderSelf.count == cross.count, "one self and one cross map per decoder layer")
        guard let sourceLength = (encoder.first ?? cross.first)?.shape.last,
            let decoderLength = (decoderSelf.first?.shape.first ?? cross.first?.shape.first)
        else { preconditionFailure("relevance needs at least one attention map") }
        // Each decoder layer's Ā · R̄^ee, as rows of one tensor.
        let stacked = cross.dropFirst().reduce(cross.first) { backend.concatenateRows($0!, $1) }
        var encoderRelevance: Tensor?
        var throughEncoder = keepingEncoder ? nil : stacked.flatMap { throughNormalized($0, encoder: encoder) }
        if throughEncoder == nil {
            var relevance = backend.identity(sourceLength)
            for weighted in encoder {
                relevance = backend.add(relevance, backend.matrixProduct(weighted, relevance, transposingA: false))
            }
            encoderRelevance = relevance
            throughEncoder = stacked.map {
                backend.matrixProduct($0, backend.residualNormalized(relevance), transposingA: false)
            }
        }
        var decoderRelevance = backend.identity(decoderLength)
        var crossRelevance = backend.zeros(shape: [decoderLength, sourceLength])
        for (layer, selfWeighted) in decoderSelf.enumerated() {
            let decoderAddition = backend.matrixProduct(selfWeighted, decoderRelevance, transposingA: false)
            crossRelevance = backend.add(
                crossRelevance, backend.matrixProduct(selfWeighted, crossRelevance, transposingA: false))
            decoderRelevance = backend.add(decoderRelevance, decoderAddition)
            let addition = backend.matrixProduct(
                backend.residualNormalized(decoderRelevance),
                backend.rows(throughEncoder!, (layer * decoderLength)..<((layer + 1) * decoderLength)),
                transposingA: true)
            backend.zeroNaNInPlace(addition)
            crossRelevance = backend.add(crossRelevance, addition)
        }
        return Matrices(encoder: encoderRelevance, decoder: decoderRelevance, cross: crossRelevance)
    }

    /// X · R̄^ee without forming R^ee (see the top of the file); nil when a row of R^ee − I sums to 0 (or the sums
    /// are not finite), where the caller forms R^ee as the reference does.
    private func throughNormalized(_ x: Tensor, encoder: [Tensor]) -> Tensor? {
        let sourceLength = x.shape[1]
        var sums = backend.makeTensor(shape: [sourceLength, 1], values: Array(repeating: 1, count: sourceLength))
        for weighted in encoder {
            sums = backend.add(sums, backend.matrixProduct(weighted, sums, transposingA: false))
        }
        let rowSums = backend.read(sums).map { $0 - 1 }
        guard rowSums.allSatisfy({ $0 != 0 && $0.isFinite }) else { return nil }
        // Z = X · D⁻¹: each column of X's few rows divided by its row sum.
        let columns = backend.read(x).enumerated().map { $1 / rowSums[$0 % sourceLength] }
        let z = backend.makeTensor(shape: x.shape, values: columns)
        var product = z
        for weighted in encoder.reversed() {
            product = backend.add(product, backend.matrixProduct(product, weighted, transposingA: false))
        }
        let negated = backend.copy(z)
        backend.scaleInPlace(negated, by: -1)
        return backend.add(backend.add(product, x), negated)
    }
}

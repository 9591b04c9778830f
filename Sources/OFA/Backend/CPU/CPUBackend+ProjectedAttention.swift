// Cross attention without its keys and values: the decoder's few query rows go through the key projection's
// weight instead of the encoder's many rows (and the probabilities through the value projection's), so a
// decoder layer does ~heads · queries · S · in multiply-adds where the projections take S · d · in.

extension CPUBackend {
    public func attentionScores(query: Tensor, memory: Tensor, keyWeight: Tensor, keyBias: Tensor?, heads: Int)
        -> Tensor
    {
        let queries = query.shape[0]
        let width = query.shape[1]
        let keys = memory.shape[0]
        let inputs = memory.shape[1]
        let headWidth = width / heads
        precondition(keyWeight.shape == [width, inputs], "projected scores: key weight \(keyWeight.shape)")
        // Each head's query rows through its rows of the weight: [heads, queries, in].
        let through = empty([heads, queries, inputs])
        multiply(
            batch: heads, m: queries, n: inputs, k: headWidth,
            Matrix(tensor: splitHeads(query, heads: heads), batch: queries * headWidth, row: headWidth),
            Matrix(tensor: plain(keyWeight), batch: headWidth * inputs, row: inputs),
            into: through.floats, cBatch: queries * inputs, cRow: inputs)
        // Then every (head, query) row against every memory row at once.
        let scores = empty([heads, queries, keys])
        multiply(
            m: heads * queries, n: keys, k: inputs, Matrix(tensor: through, row: inputs),
            Matrix(tensor: memory, row: 1, column: inputs), into: scores.floats, cRow: keys)
        guard let keyBias else { return scores }
        // The bias's share, query · bias per head: the same for every key.
        for head in 0..<heads {
            for row in 0..<queries {
                let q = query.floats + row * width + head * headWidth
                let b = keyBias.floats + head * headWidth
                var shift: Float = 0
                for j in 0..<headWidth { shift += q[j] * b[j] }
                let line = scores.floats + (head * queries + row) * keys
                for j in 0..<keys { line[j] += shift }
            }
        }
        return scores
    }

    public func attentionContext(
        probabilities: Tensor, memory: Tensor, valueWeight: Tensor, valueBias: Tensor?, heads: Int, headScale: Tensor
    ) -> Tensor {
        let queries = probabilities.shape[1]
        let keys = probabilities.shape[2]
        let inputs = memory.shape[1]
        let width = valueWeight.shape[0]
        let headWidth = width / heads
        precondition(
            probabilities.shape[0] == heads && memory.shape[0] == keys && valueWeight.shape[1] == inputs,
            "projected context: \(probabilities.shape), memory \(memory.shape), value weight \(valueWeight.shape)")
        // Every (head, query) row of probabilities through the memory at once: [heads, queries, in].
        let mixed = empty([heads, queries, inputs])
        multiply(
            m: heads * queries, n: inputs, k: keys, Matrix(tensor: probabilities, row: keys),
            Matrix(tensor: memory, row: inputs), into: mixed.floats, cRow: inputs)
        // Then each head's through its rows of the weight, straight to its columns.
        let output = empty([queries, width])
        multiply(
            batch: heads, m: queries, n: headWidth, k: inputs,
            Matrix(tensor: mixed, batch: queries * inputs, row: inputs),
            Matrix(tensor: plain(valueWeight), batch: headWidth * inputs, row: 1, column: inputs),
            into: output.floats, cBatch: headWidth, cRow: width)
        // The bias, weighted by each row's total probability, and the head scale.
        for row in 0..<queries {
            for head in 0..<heads {
                let line = output.floats + row * width + head * headWidth
                if let valueBias {
                    let p = probabilities.floats + (head * queries + row) * keys
                    var total: Float = 0
                    for j in 0..<keys { total += p[j] }
                    let b = valueBias.floats + head * headWidth
                    for j in 0..<headWidth { line[j] += b[j] * total }
                }
                let scale = headScale.floats[head]
                for j in 0..<headWidth { line[j] *= scale }
            }
        }
        return output
    }
}

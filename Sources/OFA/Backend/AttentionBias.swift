// An attention's position bias as the backends add it to the scores before the softmax.

/// One shared `[H, T, S]` tensor plus relative terms looked up from per-layer bucket tables.
public struct AttentionBias {
    /// `scores[h, rowOffset + i, columnOffset + j] += table[h, buckets[i, j]]` for the `[rows, columns]` buckets;
    /// the table is `[heads, buckets]`, head by head.
    public struct Relative {
        public let table: Tensor
        public let buckets: Tensor
        public let rowOffset: Int
        public let columnOffset: Int

        public init(table: Tensor, buckets: Tensor, rowOffset: Int, columnOffset: Int) {
            self.table = table
            self.buckets = buckets
            self.rowOffset = rowOffset
            self.columnOffset = columnOffset
        }
    }

    public let absolute: Tensor
    public var relative: [Relative] = []

    public init(absolute: Tensor, relative: [Relative] = []) {
        self.absolute = absolute
        self.relative = relative
    }
}

extension AttentionBias.Relative {
    /// Stops on a term that does not fit scores `[heads, queries, keys]` (a table row per head, buckets inside).
    func checkFits(heads: Int, queries: Int, keys: Int) {
        precondition(table.shape[0] == heads, "bucket table \(table.shape) for \(heads) heads")
        precondition(
            rowOffset + buckets.shape[0] <= queries && columnOffset + buckets.shape[1] <= keys,
            "buckets \(buckets.shape) at (\(rowOffset), \(columnOffset)) outside \([heads, queries, keys])")
    }
}

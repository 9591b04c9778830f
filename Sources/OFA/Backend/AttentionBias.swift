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

// The image-patch grid the encoder sees: rows × columns patches, row-major before the text tokens.

public struct PatchGrid: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public let rows: Int
    public let columns: Int

    public init(rows: Int, columns: Int) {
        precondition(rows > 0 && columns > 0, "a patch grid needs positive rows and columns")
        self.rows = rows
        self.columns = columns
    }

    /// Encoder positions 0..<count are the patches, row-major (k = r·columns + c).
    public var count: Int { rows * columns }

    public var description: String { "\(rows)×\(columns)" }
}

// The element count of a shape read from untrusted bytes: nil for a negative extent or a product past Int.max.

extension Array where Element == Int {
    /// The product of the extents, or nil when one is negative or the product overflows `limit`.
    public func checkedProduct(limit: Int = Int.max) -> Int? {
        var product = 1
        for extent in self {
            guard extent >= 0 else { return nil }
            let (next, overflow) = product.multipliedReportingOverflow(by: extent)
            guard !overflow, next <= limit else { return nil }
            product = next
        }
        return product
    }
}

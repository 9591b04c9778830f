// Relative-position bucket indices, as modelscope make_token_bucket_position / make_image_bucket_position.

import Foundation

enum PositionBuckets {
    /// Text: `[length, length]` indices into a `2·bucketSize − 1`-row table; entry [i, j] is for query i, key j.
    static func token(length: Int, bucketSize: Int, maximumPosition: Int) -> [Int32] {
        token(positions: Array(0..<length), bucketSize: bucketSize, maximumPosition: maximumPosition)
    }

    /// The same for tokens at `positions` (some left out: the others keep their places).
    static func token(positions: [Int], bucketSize: Int, maximumPosition: Int) -> [Int32] {
        let length = positions.count
        let middle = bucketSize / 2
        let logRange = Foundation.log(Double(maximumPosition - 1) / Double(middle))
        var result = [Int32](repeating: 0, count: length * length)
        for i in 0..<length {
            for j in 0..<length {
                let relative = positions[i] - positions[j]
                let bucket: Int
                if abs(relative) <= middle {
                    bucket = relative
                } else {
                    let magnitude = Double(abs(relative))
                    let logarithmic =
                        Int(
                            (Foundation.log(magnitude / Double(middle)) / logRange
                                * Double(middle - 1)).rounded(.up)) + middle
                    bucket = relative.signum() * logarithmic
                }
                result[i * length + j] = Int32(bucket + bucketSize - 1)
            }
        }
        return result
    }

    /// Image: `[P, P]` indices for a rows×columns patch grid laid out in a bucketSize-wide id space; with
    /// `patches`, `[K, K]` for those patches only (row-major indices on the grid, in their order).
    static func image(rows: Int, columns: Int, bucketSize: Int, patches: [Int]? = nil) -> [Int32] {
        let kept = patches ?? Array(0..<(rows * columns))
        let count = kept.count
        let span = 2 * bucketSize - 1
        var result = [Int32](repeating: 0, count: count * count)
        for (i, a) in kept.enumerated() {
            let (ra, ca) = a.quotientAndRemainder(dividingBy: columns)
            for (j, b) in kept.enumerated() {
                let (rb, cb) = b.quotientAndRemainder(dividingBy: columns)
                result[i * count + j] = Int32((ra - rb + bucketSize - 1) * span + (ca - cb + bucketSize - 1))
            }
        }
        return result
    }

    /// Table rows for each bucket kind.
    static func tokenTableRows(bucketSize: Int) -> Int { 2 * bucketSize - 1 }
    static func imageTableRows(bucketSize: Int) -> Int { (2 * bucketSize - 1) * (2 * bucketSize - 1) + 3 }
}

// Bilinear resampling of a patch map to image size with half-pixel centres and clamped edges: the convention of
// torch.nn.functional.interpolate(mode='bilinear', align_corners=False) and OpenCV INTER_LINEAR. Output pixel
// (x, y) samples the grid at ((x + ½)·cols/W − ½, (y + ½)·rows/H − ½), clamped to the grid. Because the model's
// square input was stretched from W×H, this is upsampling to the N×N frame and stretching to W×H in one step.

public enum BilinearUpsampling {
    public static func upsample(_ values: [Float], rows: Int, columns: Int, width: Int, height: Int) -> [Float] {
        precondition(values.count == rows * columns, "map size mismatch")
        let xs = taps(source: columns, target: width)
        let ys = taps(source: rows, target: height)
        var output = [Float](repeating: 0, count: width * height)
        values.withUnsafeBufferPointer { grid in
            output.withUnsafeMutableBufferPointer { out in
                for y in 0..<height {
                    let (r0, r1, fy) = ys[y]
                    let top = r0 * columns
                    let bottom = r1 * columns
                    for x in 0..<width {
                        let (c0, c1, fx) = xs[x]
                        let upper = grid[top + c0] + (grid[top + c1] - grid[top + c0]) * fx
                        let lower = grid[bottom + c0] + (grid[bottom + c1] - grid[bottom + c0]) * fx
                        out[y * width + x] = upper + (lower - upper) * fy
                    }
                }
            }
        }
        return output
    }

    /// For each target index: the two source indices and the weight of the second.
    static func taps(source: Int, target: Int) -> [(Int, Int, Float)] {
        let scale = Double(source) / Double(target)
        return (0..<target).map { i in
            let position = Swift.max((Double(i) + 0.5) * scale - 0.5, 0)
            let i0 = Swift.min(Int(position), source - 1)
            let i1 = Swift.min(i0 + 1, source - 1)
            return (i0, i1, Float(position - Double(i0)))
        }
    }
}

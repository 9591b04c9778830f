// One palette of at most 256 colours for a set of RGB frames: median cut (Heckbert) over a 5-bit-per-channel
// histogram. The box with the largest population × longest side is split at its weighted median along that side;
// each box's colour is the mean of the pixels in it; a pixel takes its histogram bin's box. No dithering.
import ImageIO

struct PaletteQuantizer {
    let palette: [RGB]
    /// 32768 entries (r>>3, g>>3, b>>3) → palette index.
    private let lookup: [UInt8]

    init(frames: [RGBImage], maxColors: Int = 256) {
        precondition(maxColors >= 1 && maxColors <= 256, "a GIF palette has 1…256 colours")
        var count = [Int](repeating: 0, count: 32768)
        var sums = [Int](repeating: 0, count: 32768 * 3)
        for frame in frames {
            frame.pixels.withUnsafeBufferPointer { p in
                for i in stride(from: 0, to: p.count, by: 3) {
                    let bin = PaletteQuantizer.bin(p[i], p[i + 1], p[i + 2])
                    count[bin] += 1
                    sums[bin * 3] += Int(p[i])
                    sums[bin * 3 + 1] += Int(p[i + 1])
                    sums[bin * 3 + 2] += Int(p[i + 2])
                }
            }
        }
        var boxes = [count.indices.filter { count[$0] > 0 }]
        if boxes[0].isEmpty { boxes = [[0]] }
        while boxes.count < maxColors {
            var best = -1
            var bestScore = 0
            var bestAxis = 0
            for (k, box) in boxes.enumerated() where box.count > 1 {
                let (axis, range) = PaletteQuantizer.longestSide(box)
                let population = box.reduce(0) { $0 + count[$1] }
                if population * range > bestScore {
                    best = k
                    bestScore = population * range
                    bestAxis = axis
                }
            }
            if best < 0 { break }
            let sorted = boxes[best].sorted {
                let a = PaletteQuantizer.channel($0, bestAxis)
                let b = PaletteQuantizer.channel($1, bestAxis)
                return a < b || (a == b && $0 < $1)
            }
            let half = sorted.reduce(0) { $0 + count[$1] } / 2
            var running = 0
            var cut = 1
            for (i, bin) in sorted.enumerated() {
                running += count[bin]
                if running >= half {
                    cut = Swift.min(Swift.max(i + 1, 1), sorted.count - 1)
                    break
                }
            }
            boxes[best] = Array(sorted[..<cut])
            boxes.append(Array(sorted[cut...]))
        }
        var lookup = [UInt8](repeating: 0, count: 32768)
        var palette: [RGB] = []
        for (k, box) in boxes.enumerated() {
            var n = 0
            var r = 0
            var g = 0
            var b = 0
            for bin in box {
                lookup[bin] = UInt8(k)
                n += count[bin]
                r += sums[bin * 3]
                g += sums[bin * 3 + 1]
                b += sums[bin * 3 + 2]
            }
            palette.append(n > 0 ? RGB(UInt8((r + n / 2) / n), UInt8((g + n / 2) / n), UInt8((b + n / 2) / n)) : .black)
        }
        self.palette = palette
        self.lookup = lookup
    }

    /// The frame's pixels as palette indices.
    func indices(_ frame: RGBImage) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: frame.width * frame.height)
        frame.pixels.withUnsafeBufferPointer { p in
            lookup.withUnsafeBufferPointer { table in
                for i in 0..<result.count {
                    result[i] = table[PaletteQuantizer.bin(p[i * 3], p[i * 3 + 1], p[i * 3 + 2])]
                }
            }
        }
        return result
    }

    @inline(__always)
    static func bin(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int { Int(r >> 3) << 10 | Int(g >> 3) << 5 | Int(b >> 3) }

    @inline(__always)
    static func channel(_ bin: Int, _ axis: Int) -> Int { (bin >> (10 - 5 * axis)) & 31 }

    static func longestSide(_ box: [Int]) -> (axis: Int, range: Int) {
        var best = (axis: 0, range: 0)
        for axis in 0..<3 {
            var low = 31
            var high = 0
            for bin in box {
                let v = channel(bin, axis)
                low = Swift.min(low, v)
                high = Swift.max(high, v)
            }
            if high - low > best.range { best = (axis, high - low) }
        }
        return best
    }
}

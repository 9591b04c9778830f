// Pillow's 8-bit BICUBIC Image.resize, bit for bit: two separable fixed-point passes with uint8 in between
// (libImaging/Resample.c ImagingResampleInner; ofa-spec.md §6.1).
import ImageIO

/// Which separable pass runs first; the result differs between Pillow versions.
public enum ResizePassOrder: String, Sendable, CaseIterable {
    /// Pillow < 13: always horizontal, then vertical.
    case horizontalFirst
    /// Pillow ≥ 13.0: vertical first iff (inH − outH) > 0 and (inH − outH) > 2·(inW − outW).
    case pillow13

    /// The order of the Pillow used for the reference goldens (13.0.0).
    public static let referenceDefault = ResizePassOrder.pillow13
}

public struct BicubicResampler: Sendable {
    public var passOrder: ResizePassOrder

    public init(passOrder: ResizePassOrder = .referenceDefault) { self.passOrder = passOrder }

    /// Resizes to `width × height`; an image already that size is returned unchanged.
    public func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        let needHorizontal = image.width != width
        let needVertical = image.height != height
        guard needHorizontal || needVertical else { return image }
        let cache = ResampleCoefficientCache.shared
        let verticalFirst: Bool
        switch passOrder {
        case .horizontalFirst: verticalFirst = false
        case .pillow13:
            let dh = image.height - height
            let dw = image.width - width
            verticalFirst = dh > 0 && dh > 2 * dw
        }
        if verticalFirst {
            var out = image
            if needVertical { out = Self.vertical(out, cache.coefficients(inSize: image.height, outSize: height)) }
            if needHorizontal {
                out = Self.horizontal(
                    out, cache.coefficients(inSize: image.width, outSize: width), rows: 0..<out.height)
            }
            return out
        }
        var out = image
        if needHorizontal {
            // Only the input rows that the vertical pass reads are resampled (as Pillow's ybox); values are equal.
            var rows = 0..<image.height
            var vertical: ResampleCoefficients?
            if needVertical {
                let v = cache.coefficients(inSize: image.height, outSize: height)
                rows = v.first[0]..<(v.first[height - 1] + v.count[height - 1])
                vertical = v
            }
            out = Self.horizontal(out, cache.coefficients(inSize: image.width, outSize: width), rows: rows)
            if let vertical {
                return Self.vertical(out, vertical, rowOffset: rows.lowerBound)
            }
            return out
        }
        return Self.vertical(out, cache.coefficients(inSize: image.height, outSize: height))
    }

    /// Horizontal pass over `rows` of the source; the result has `rows.count` rows.
    static func horizontal(_ image: RGBImage, _ c: ResampleCoefficients, rows: Range<Int>) -> RGBImage {
        let outWidth = c.outSize
        let inRowBytes = image.width * 3
        let outRowBytes = outWidth * 3
        let shift = Int32(ResampleCoefficients.precisionBits)
        let half = Int32(1) << (shift - 1)
        let pixels = [UInt8](unsafeUninitializedCapacity: rows.count * outRowBytes) { out, initialized in
            image.pixels.withUnsafeBufferPointer { src in
                c.weights.withUnsafeBufferPointer { weights in
                    c.first.withUnsafeBufferPointer { first in
                        c.count.withUnsafeBufferPointer { count in
                            for (outRow, y) in rows.enumerated() {
                                let row = src.baseAddress! + y * inRowBytes
                                let dst = out.baseAddress! + outRow * outRowBytes
                                for x in 0..<outWidth {
                                    let k = weights.baseAddress! + x * c.kernelSize
                                    var p = row + first[x] * 3
                                    var r = half
                                    var g = half
                                    var b = half
                                    for t in 0..<count[x] {
                                        let w = k[t]
                                        r &+= Int32(p[0]) &* w
                                        g &+= Int32(p[1]) &* w
                                        b &+= Int32(p[2]) &* w
                                        p += 3
                                    }
                                    dst[3 * x] = clip8(r, shift)
                                    dst[3 * x + 1] = clip8(g, shift)
                                    dst[3 * x + 2] = clip8(b, shift)
                                }
                            }
                        }
                    }
                }
            }
            initialized = rows.count * outRowBytes
        }
        return RGBImage(width: outWidth, height: rows.count, pixels: pixels)
    }

    /// Vertical pass; the source holds input rows `rowOffset ..< rowOffset + image.height`.
    static func vertical(_ image: RGBImage, _ c: ResampleCoefficients, rowOffset: Int = 0) -> RGBImage {
        let rowBytes = image.width * 3
        let outHeight = c.outSize
        let shift = Int32(ResampleCoefficients.precisionBits)
        let half = Int32(1) << (shift - 1)
        var accumulator = [Int32](repeating: 0, count: rowBytes)
        let pixels = [UInt8](unsafeUninitializedCapacity: outHeight * rowBytes) { out, initialized in
            image.pixels.withUnsafeBufferPointer { src in
                accumulator.withUnsafeMutableBufferPointer { acc in
                    for y in 0..<outHeight {
                        for i in 0..<rowBytes { acc[i] = half }
                        let base = c.first[y] - rowOffset
                        for t in 0..<c.count[y] {
                            let w = c.weights[y * c.kernelSize + t]
                            let row = src.baseAddress! + (base + t) * rowBytes
                            for i in 0..<rowBytes { acc[i] &+= Int32(row[i]) &* w }
                        }
                        let dst = out.baseAddress! + y * rowBytes
                        for i in 0..<rowBytes { dst[i] = clip8(acc[i], shift) }
                    }
                }
            }
            initialized = outHeight * rowBytes
        }
        return RGBImage(width: image.width, height: outHeight, pixels: pixels)
    }
}

@inline(__always)
private func clip8(_ value: Int32, _ shift: Int32) -> UInt8 {
    let v = value >> shift
    return v < 0 ? 0 : v > 255 ? 255 : UInt8(truncatingIfNeeded: v)
}

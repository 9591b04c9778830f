// Conversion of decoded pixels to RGB exactly as Pillow's Image.convert('RGB') (libImaging/Convert.c).

extension DecodedPixels {
    func rgb() -> RGBImage {
        if layout == .rgb8 { return RGBImage(width: width, height: height, pixels: bytes) }
        let count = width * height
        let pixels = [UInt8](unsafeUninitializedCapacity: count * 3) { out, initialized in
            bytes.withUnsafeBufferPointer { source in
                switch layout {
                case .gray8:
                    for i in 0..<count {
                        let v = source[i]
                        out[3 * i] = v
                        out[3 * i + 1] = v
                        out[3 * i + 2] = v
                    }
                case .gray16:
                    // Pillow I;16 -> RGB: values above 255 saturate, others keep their low byte.
                    for i in 0..<count {
                        let v = source[2 * i] == 0 ? source[2 * i + 1] : 255
                        out[3 * i] = v
                        out[3 * i + 1] = v
                        out[3 * i + 2] = v
                    }
                case .invertedCMYK8:
                    // rawmode CMYK;I inverts each sample, then cmyk2rgb: nk - MULDIV255(c, nk) with nk = 255 - k.
                    for i in 0..<count {
                        let nk = Int(source[4 * i + 3])  // 255 - (255 - raw k)
                        for c in 0..<3 {
                            let ink = 255 - Int(source[4 * i + c])
                            let t = ink * nk + 128
                            out[3 * i + c] = UInt8(clamping: nk - (((t >> 8) + t) >> 8))
                        }
                    }
                case .rgb8:
                    break
                }
            }
            initialized = count * 3
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}

// bfloat16 (the upper 16 bits of a float32) read back as float32, for tables stored in bfloat16. Rounding float32
// to bfloat16 is oneDNN's (OneDNN.convertToBFloat16: nearest, ties to even).

enum BFloat16 {
    @inline(__always)
    static func value(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    static func expand(_ source: UnsafePointer<UInt16>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] = value(source[i]) }
    }
}

// Vectorisable float exp and erf-GELU for the CPU backend's gradient kernels (the C kernels compute e^x the same way).

enum FastMath {
    /// e^x to within ~2 ulp; exactly 0 below −87 (one lane of `exp8`).
    @inline(__always)
    static func exp(_ x: Float) -> Float { exp8(SIMD8(repeating: x))[0] }

    /// erf(x), rational approximation (Eigen/XLA's float erf), error a few ulp.
    @inline(__always)
    static func erf(_ value: Float) -> Float {
        let x = min(max(value, -4), 4)
        let x2 = x * x
        var p: Float = -2.726_142_3e-10
        p = p * x2 + 2.770_681_4e-08
        p = p * x2 - 2.101_024e-06
        p = p * x2 - 5.692_506_4e-05
        p = p * x2 - 7.349_906_3e-04
        p = p * x2 - 2.954_600_0e-03
        p = p * x2 - 1.609_603_3e-02
        p *= x
        var q: Float = -1.456_607_2e-05
        q = q * x2 - 2.133_740_6e-04
        q = q * x2 - 1.682_827e-03
        q = q * x2 - 7.373_329_2e-03
        q = q * x2 - 1.426_474e-02
        return p / q
    }

    /// Exact (erf) GELU: x·½·(1 + erf(x/√2)).
    @inline(__always)
    static func gelu(_ x: Float) -> Float {
        0.5 * x * (1 + erf(x * 0.707_106_77))
    }

    /// e^x on eight lanes: 2^n · p(r) with n = round(x·log2 e), r = x − n·ln 2, p a degree-7 Taylor polynomial.
    @inline(__always)
    static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let low = SIMD8<Float>(repeating: -87)
        let high = SIMD8<Float>(repeating: 88)
        let clamped = x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
        // shifted = 1.5·2^23 + n exactly, so its bit pattern is 0x4B40_0000 + n.
        let shifted = clamped * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        let r = (clamped - n * 0.693_145_75) - n * 1.428_606_8e-6
        var p = SIMD8<Float>(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let exponent = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- 0x4B40_0000 &+ 127
        let power = unsafeBitCast(exponent &<< 23, to: SIMD8<Float>.self)
        return (p * power).replacing(with: 0, where: x .< -87)
    }
}

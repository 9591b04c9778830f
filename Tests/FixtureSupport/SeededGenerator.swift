// A reproducible random number generator (SplitMix64) for fuzz tests: a failure names its seed, and the seed
// reproduces it.
import Foundation

public struct SeededGenerator: RandomNumberGenerator {
    public let seed: UInt64
    private var state: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        state = seed
    }

    /// The seed from the environment variable `name` when set (to rerun a reported failure), else `fallback`.
    public init(environment name: String, fallback: UInt64) {
        self.init(seed: ProcessInfo.processInfo.environment[name].flatMap { UInt64($0) } ?? fallback)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// splitmix64 (Steele, Lea and Flood 2014): the project's one source of deterministic random bits.

/// The splitmix64 generator: a 64-bit counter advanced by the golden-ratio increment, each value
/// scrambled by `mix`. Used for the documented sampling noise, the synthetic weights and test data.
public struct SplitMix64: Sendable {
    /// The increment, ⌊2⁶⁴/φ⌋.
    public static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// The splitmix64 finaliser (a bijection of 64-bit values).
    @inline(__always)
    public static func mix(_ v: UInt64) -> UInt64 {
        var z = v
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    /// Next 64 random bits: `state += gamma`, then `mix(state)`.
    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= SplitMix64.gamma
        return SplitMix64.mix(state)
    }
}

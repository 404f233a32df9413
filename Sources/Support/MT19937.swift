// The 32-bit Mersenne Twister (Matsumoto and Nishimura 1998), seeded the way PyTorch's CPU
// generator seeds it, so that our draws follow `torch.manual_seed` exactly.

/// mt19937: 624 words of state, one 32-bit tempered output per call.
///
/// Seeding (`init`): `s[0] = seed mod 2³²`, `s[i] = 1812433253·(s[i−1] ⊕ (s[i−1] ≫ 30)) + i (mod 2³²)`.
/// PyTorch keeps the full 64-bit seed for `initial_seed()` but fills the state from its low
/// 32 bits only, so seeds that differ by a multiple of 2³² give the same stream.
/// The state is regenerated in one pass of 624 words when it is used up (the first call
/// regenerates it too), then each word is tempered.
public struct MT19937: Sendable {
    static let n = 624
    static let m = 397
    static let matrixA: UInt32 = 0x9908_B0DF

    private var state: [UInt32]
    private var index: Int

    /// The generator `torch.manual_seed(seed)` installs (low 32 bits of `seed`, see above).
    public init(seed: UInt64) {
        var s = [UInt32](repeating: 0, count: MT19937.n)
        s[0] = UInt32(truncatingIfNeeded: seed)
        for i in 1 ..< MT19937.n {
            let p = s[i - 1]
            s[i] = 1_812_433_253 &* (p ^ (p >> 30)) &+ UInt32(i)
        }
        state = s
        index = MT19937.n
    }

    /// Regenerates all 624 words: `s[k] = s[k+m] ⊕ twist(upper bit of s[k], lower 31 of s[k+1])`.
    private mutating func regenerate() {
        let n = MT19937.n, m = MT19937.m
        state.withUnsafeMutableBufferPointer { s in
            for k in 0 ..< n {
                let y = (s[k] & 0x8000_0000) | (s[(k + 1) % n] & 0x7FFF_FFFF)
                s[k] = s[(k + m) % n] ^ (y >> 1) ^ ((y & 1) != 0 ? MT19937.matrixA : 0)
            }
        }
        index = 0
    }

    /// Next 32 random bits (tempered).
    public mutating func next() -> UInt32 {
        if index >= MT19937.n { regenerate() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }
}

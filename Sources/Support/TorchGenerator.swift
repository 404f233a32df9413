// PyTorch's default CPU generator (`torch.manual_seed`, `torch.randn`, `torch.randint` on float32 /
// int64 CPU tensors), reproduced value for value so that a seed gives the official code's noise.
import Foundation

/// The state behind `torch.manual_seed(seed)`: an mt19937 stream plus the cached second value of
/// the double-precision Box–Muller pair (`manual_seed` clears it; any later call may use it).
///
/// Every draw consumes the stream exactly as PyTorch's CPU kernels do:
/// - `random32`: one mt19937 word. `random64`: two words, the first one the high half.
/// - `randint(low, high, count)`: per value `low + word mod (high − low)` with one word when
///   `high − low < 2²⁸`, else `low + random64 mod (high − low)`.
/// - `randn(count)` with count < 16 (PyTorch's element-wise path): per value, the cached value if
///   there is one, else `u₁, u₂` = 53-bit uniforms from `random64` (`(w mod 2⁵³)·2⁻⁵³`),
///   `r = √(−2·log1p(−u₂))`, `θ = 2π·u₁`, return `r·cos θ` and cache `r·sin θ`, in Double,
///   each rounded to Float.
/// - `randn(count)` with count ≥ 16 (the vectorized path; the cache is neither used nor cleared):
///   first `count` float uniforms `(word mod 2²⁴)·2⁻²⁴`, then for each whole block of 16
///   `u₁ = 1 − v[j]`, `u₂ = v[j+8]` (j < 8), `r = √(−2·ln u₁)`, `θ = 2π·u₂`, `v[j] = r·cos θ`,
///   `v[j+8] = r·sin θ` in float32 with `TorchVectorMath` (the x86 kernel's arithmetic). If 16 does
///   not divide count, 16 fresh uniforms replace the last 16 values and that block is redone.
///
/// Double `log1p`, `sin`, `cos` come from the C library; PyTorch calls the same functions, and on
/// glibc systems the results agree exactly (the table test checks it). Another libm could differ
/// in the last bit of a Double, which rounding to Float hides except in very rare cases.
public struct TorchGenerator: Sendable {
    private var engine: MT19937
    private var cachedNormal: Double?

    /// `torch.manual_seed(seed)` (seeds ≥ 2³² use their low 32 bits, as PyTorch does).
    public init(seed: UInt64) {
        engine = MT19937(seed: seed)
        cachedNormal = nil
    }

    /// One 32-bit word.
    public mutating func random32() -> UInt32 { engine.next() }

    /// Two words, the first as the high half.
    public mutating func random64() -> UInt64 {
        let high = UInt64(engine.next())
        return high << 32 | UInt64(engine.next())
    }

    /// `torch.randint(low, high, (count,))` (int64). Precondition: low < high.
    public mutating func randint(low: Int64, high: Int64, count: Int) -> [Int64] {
        precondition(low < high, "randint: empty range \(low)..<\(high)")
        let range = UInt64(bitPattern: high &- low)
        return (0 ..< count).map { _ in
            let word = range < 1 << 28 ? UInt64(random32()) : random64()
            return low &+ Int64(bitPattern: word % range)
        }
    }

    /// `torch.randn(count)` as float32, row-major for any shape of `count` elements.
    public mutating func randn(count: Int) -> [Float] {
        precondition(count >= 0, "randn: negative count")
        return count < 16 ? (0 ..< count).map { _ in Float(nextNormalDouble()) } : randnBlocks(count: count)
    }

    /// One standard normal of the element-wise path (Double Box–Muller with the cached pair value).
    mutating func nextNormalDouble() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        let u1 = Double(random64() & (1 << 53 - 1)) * 0x1p-53
        let u2 = Double(random64() & (1 << 53 - 1)) * 0x1p-53
        let r = (-2.0 * Foundation.log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        cachedNormal = r * Foundation.sin(theta)
        return r * Foundation.cos(theta)
    }

    /// A float uniform in [0, 1) from the low 24 bits of one word.
    mutating func nextUniformFloat() -> Float {
        Float(random32() & 0xFF_FFFF) * 0x1p-24
    }

    /// The vectorized path (count ≥ 16).
    mutating func randnBlocks(count: Int) -> [Float] {
        var v = (0 ..< count).map { _ in nextUniformFloat() }
        v.withUnsafeMutableBufferPointer { p in
            var start = 0
            while start + 16 <= count {
                TorchGenerator.boxMuller16(p.baseAddress! + start)
                start += 16
            }
            if count % 16 != 0 {
                let tail = p.baseAddress! + (count - 16)
                for j in 0 ..< 16 { tail[j] = nextUniformFloat() }
                TorchGenerator.boxMuller16(tail)
            }
        }
        return v
    }

    /// 16 uniforms in place → 16 normals (pairs j and j+8), float32, the x86 kernel's arithmetic.
    static func boxMuller16(_ v: UnsafeMutablePointer<Float>) {
        let twoPi = Float(2 * Double.pi)
        for j in 0 ..< 8 {
            let u1 = 1 - v[j]
            let u2 = v[j + 8]
            let radius = (-2 * TorchVectorMath.log(u1)).squareRoot()
            let (s, c) = TorchVectorMath.sincos(twoPi * u2)
            // The kernel's final fma(n, std = 1, mean = 0) is n, except that it turns −0 into +0.
            v[j] = radius * c + 0
            v[j + 8] = radius * s + 0
        }
    }
}

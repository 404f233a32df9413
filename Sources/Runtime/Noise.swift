// Documented Gaussian noise: splitmix64 + Box–Muller, one independent stream per use.
import Foundation
import Support

/// Deterministic standard-normal noise, the same on every platform.
///
/// Algorithm (so anyone can reproduce a seed's noise):
/// - Stream state: `s₀ = mix(seed ⊕ (stream.rawValue · 0x9E3779B97F4A7C15))`, where `mix` is the
///   splitmix64 finaliser. Streams of one seed are therefore independent.
/// - `next()`: splitmix64, `s += 0x9E3779B97F4A7C15; z = mix(s)`.
/// - Gaussians in pairs (Box–Muller, in Double): `u₁ = (next() >> 11 + 1)·2⁻⁵³ ∈ (0, 1]`,
///   `u₂ = (next() >> 11)·2⁻⁵³ ∈ [0, 1)`, `r = √(−2 ln u₁)`, values `r cos 2πu₂`, then `r sin 2πu₂`,
///   each rounded to Float.
public struct NoiseGenerator {
    /// Which consumer a stream feeds; generator and decoder noise of one seed never overlap.
    public enum Stream: UInt64, Sendable {
        /// Noise token of the generator (docs/model.md, 'Generator'), `[C]` per sample.
        case generator = 1
        /// Initial latent of the decoder (docs/model.md, 'Decoder transformer'), `[Cl, h, w]`.
        case decoder = 2
        /// The class of `--class random` (`label()`).
        case label = 3
    }

    private var bits: SplitMix64
    private var spare: Float?

    public init(seed: UInt64, stream: Stream) {
        bits = SplitMix64(state: SplitMix64.mix(seed ^ (stream.rawValue &* SplitMix64.gamma)))
    }

    /// Next 64 random bits (splitmix64).
    public mutating func next() -> UInt64 { bits.next() }

    /// Next standard-normal value.
    public mutating func nextGaussian() -> Float {
        if let s = spare {
            spare = nil
            return s
        }
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53
        let u2 = Double(next() >> 11) * 0x1p-53
        let r = (-2 * log(u1)).squareRoot()
        spare = Float(r * sin(2 * Double.pi * u2))
        return Float(r * cos(2 * Double.pi * u2))
    }

    /// A class index in 0..<classes from the `.label` stream of `seed`: `next() mod classes`
    /// (the bias of the modulo is below 2⁻⁵⁰ for any class count a model has).
    public static func label(seed: UInt64, classes: Int) -> Int {
        precondition(classes > 0, "label: no classes")
        var g = NoiseGenerator(seed: seed, stream: .label)
        return Int(g.next() % UInt64(classes))
    }

    /// `count` standard-normal values of `stream` for `seed`.
    public static func gaussian(count: Int, seed: UInt64, stream: Stream) -> [Float] {
        var g = NoiseGenerator(seed: seed, stream: stream)
        return (0 ..< count).map { _ in g.nextGaussian() }
    }
}

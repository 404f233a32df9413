// Sampling noise drawn as the official RepTok code draws it, from PyTorch's CPU generator.
import ModelFile
import Support

/// Where the sampling noise (and the classes of `--class random`) come from.
public enum NoiseRNG: String, CaseIterable, Codable, Sendable {
    /// Our documented splitmix64 streams (`NoiseGenerator`): image i of a batch uses seed s+i,
    /// independent of the batch size, with separate generator, decoder and class streams.
    case reptok
    /// PyTorch's CPU generator (`TorchGenerator`) in the official notebook's order and shapes:
    /// one batch-shaped draw per stream, so image i depends on the batch size.
    case torch
}

/// The noise of one `generate` batch of `count` images, drawn as the official notebook does:
///
///     torch.manual_seed(seed)
///     y = torch.randint(0, K, (count,))            # only when the classes are random
///     z = torch.randn(count, 1, C)                  # generator noise, row i for image i
///     ... generate_with_cfg_interval(z, y, ...)     # draws nothing
///     noise = torch.randn(count, Cl, h, w)          # decoder noise, continuing the stream
///
/// The decoder noise continues the same stream, as the notebook's `module.decode` does; with
/// `decoderSeed` it is `torch.randn(count, Cl, h, w, generator=torch.manual_seed(decoderSeed))`
/// instead (what the decoder's own `sample()` does when it draws its noise).
public struct TorchBatchNoise: Sendable {
    /// The drawn classes (`randint(0, K, (count,))`), or nil when classes were given.
    public let labels: [Int]?
    /// `count` generator noise tokens `[C]`.
    public let generator: [[Float]]
    /// `count` decoder noise latents `[Cl, h, w]`.
    public let decoder: [[Float]]

    public init(config: ModelConfig, count: Int, seed: UInt64, randomClasses: Bool, decoderSeed: UInt64? = nil) {
        precondition(count >= 1, "TorchBatchNoise: count \(count)")
        var g = TorchGenerator(seed: seed)
        labels = randomClasses
            ? g.randint(low: 0, high: Int64(config.numClasses), count: count).map { Int($0) }
            : nil
        generator = TorchBatchNoise.rows(g.randn(count: count * config.tokenDim), width: config.tokenDim)
        if let decoderSeed {
            decoder = TorchNoise.decoderNoise(config: config, count: count, seed: decoderSeed)
        } else {
            decoder = TorchBatchNoise.rows(g.randn(count: count * config.latentCount), width: config.latentCount)
        }
    }

    /// Splits a row-major `[rows, width]` draw into rows.
    static func rows(_ values: [Float], width: Int) -> [[Float]] {
        stride(from: 0, to: values.count, by: width).map { Array(values[$0 ..< $0 + width]) }
    }
}

/// Decoder noise from PyTorch's generator, for the commands that decode given tokens.
public enum TorchNoise {
    /// `torch.manual_seed(seed); torch.randn(count, Cl, h, w)`, one latent `[Cl, h, w]` per image.
    /// `reconstruct`, `decode` and `interpolate` use count 1 (interpolate decodes every frame from
    /// that one latent, so only the token changes along the strip).
    public static func decoderNoise(config: ModelConfig, count: Int, seed: UInt64) -> [[Float]] {
        var g = TorchGenerator(seed: seed)
        return TorchBatchNoise.rows(g.randn(count: count * config.latentCount), width: config.latentCount)
    }
}

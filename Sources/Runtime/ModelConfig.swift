// The model sizes and sampling defaults, read from the GGUF metadata (docs/gguf-format.md).
import Foundation
import Quant

/// Every size the runtime needs, read from the `reptok.*` metadata of a converted file.
/// Sizes are element counts; images and latents are square or rectangular grids as noted.
public struct ModelConfig: Codable, Equatable, Sendable {
    /// DINOv2 encoder (spec §5).
    public struct Encoder: Codable, Equatable, Sendable {
        /// Token width C (768 in the release). Also the RepTok token size.
        public var width: Int
        public var depth: Int
        public var heads: Int
        /// Patch side p in pixels (14).
        public var patchSize: Int
        /// Encoder input side E in pixels (224).
        public var inputSize: Int
        /// Register tokens R (4).
        public var registers: Int
        /// MLP hidden size (3072).
        public var mlpHidden: Int
        /// LayerNorm epsilon (1e-6).
        public var lnEps: Float
        /// Head size = width / heads (64).
        public var headDim: Int { width / heads }
        /// Patches per side g = E / p (16).
        public var grid: Int { inputSize / patchSize }
        /// Sequence length 1 + R + g² (261).
        public var tokens: Int { 1 + registers + grid * grid }
    }

    /// Adapter (spec §6): token → decoder condition.
    public struct Adapter: Codable, Equatable, Sendable {
        /// Output width (= decoder width, 1152).
        public var width: Int
    }

    /// Decoder transformer (spec §8).
    public struct Decoder: Codable, Equatable, Sendable {
        public var width: Int
        public var depth: Int
        public var heads: Int
        public var headDim: Int
        /// SwiGLU hidden size (3456); `ff.up_proj` has 2× this many outputs.
        public var ffHidden: Int
        /// RoPE frequencies per axis and head (9); rotated dims per head = 4 × this.
        public var ropeFreqs: Int
        public var latentChannels: Int
        public var latentH: Int
        public var latentW: Int
        /// Latent patch side (2).
        public var patchSize: Int
        /// Patch tokens (latentH/p × latentW/p = 256).
        public var patchTokens: Int { (latentH / patchSize) * (latentW / patchSize) }
        /// Values per patch: p × p × latent channels (16).
        public var patchValues: Int { patchSize * patchSize * latentChannels }
        /// Sequence length: conditioning token + patch tokens (257).
        public var tokens: Int { 1 + patchTokens }
    }

    /// Mapping network and time embedding (spec §7).
    public struct Mapping: Codable, Equatable, Sendable {
        /// Width M of the conditioning vector (1024).
        public var width: Int
        public var depth: Int
        /// SwiGLU hidden size (3072).
        public var hidden: Int
        /// Fourier features F (rows of `time_emb.weight`, 512); the embedding has 2F values.
        public var timeFeatures: Int
    }

    /// SD-VAE decoder (spec §9).
    public struct VAE: Codable, Equatable, Sendable {
        /// Channels of the encoder's down blocks, e.g. [128, 256, 512, 512]; the decoder walks them in reverse.
        public var blockOutChannels: [Int]
        /// Resnets per down block; up blocks have one more.
        public var layersPerBlock: Int
        public var normGroups: Int
        public var scalingFactor: Float
        public var shiftFactor: Float
    }

    /// MLP-Mixer generator (spec §10).
    public struct Generator: Codable, Equatable, Sendable {
        /// Token size C (= encoder width).
        public var channels: Int
        /// Inner width D.
        public var dim: Int
        public var depth: Int
        /// Token-mixing expansion e (the Conv1d has 3e channels).
        public var expansionToken: Int
        /// Channel-mixing expansion e′ (hidden D·e′).
        public var expansionChannel: Int
        /// Classes K; the label table has K + 1 rows, row K is "unconditional".
        public var numClasses: Int
    }

    /// Sampling defaults of the release (spec §2).
    public struct Sampling: Codable, Equatable, Sendable {
        public var numSteps: Int
        public var cfgScale: Float
        public var tInterval: ClosedRange<Float>
    }

    /// Output image side S in pixels (256).
    public var imageSize: Int
    /// Token scale (spec §5/§6), 1.0 unless the checkpoint says otherwise.
    public var scaleFactor: Float
    public var encoder: Encoder
    public var adapter: Adapter
    public var decoder: Decoder
    public var mapping: Mapping
    public var vae: VAE
    public var generator: Generator
    public var sampling: Sampling

    /// RepTok token size (C = encoder width).
    public var tokenDim: Int { encoder.width }
    /// Classes of the generator (K).
    public var numClasses: Int { generator.numClasses }
    /// Latent shape [channels, height, width].
    public var latentShape: [Int] { [decoder.latentChannels, decoder.latentH, decoder.latentW] }
    /// Values in one latent.
    public var latentCount: Int { decoder.latentChannels * decoder.latentH * decoder.latentW }
    /// Values in one output image [3, S, S].
    public var imageCount: Int { 3 * imageSize * imageSize }

    /// The only `reptok.format_version` this runtime reads.
    public static let supportedFormatVersion = 1

    /// Reads and checks the metadata of a converted file. Throws `RuntimeError` naming the key.
    public init(metadata md: [String: GGUFValue], path: String) throws {
        func value(_ key: String) throws -> GGUFValue {
            guard let v = md[key] else { throw RuntimeError.missingMetadata(path: path, key: key) }
            return v
        }
        /// Positive integer, at most `limit` (refuses absurd sizes before anything is allocated).
        func int(_ key: String, limit: Int = 1 << 20) throws -> Int {
            guard let i = try value(key).int else { throw RuntimeError.badMetadata(path: path, key: key, reason: "expected an integer, found \(md[key]!)") }
            guard i >= 1, i <= limit else { throw RuntimeError.badMetadata(path: path, key: key, reason: "\(i) is outside 1...\(limit)") }
            return i
        }
        func float(_ key: String) throws -> Float {
            guard let f = try value(key).float, f.isFinite else { throw RuntimeError.badMetadata(path: path, key: key, reason: "expected a finite number, found \(md[key]!)") }
            return f
        }
        func string(_ key: String) throws -> String {
            guard let s = try value(key).string else { throw RuntimeError.badMetadata(path: path, key: key, reason: "expected a string, found \(md[key]!)") }
            return s
        }

        // Identity of the file.
        let arch = try string("general.architecture")
        guard arch == "reptok" else { throw RuntimeError.wrongArchitecture(path: path, found: arch) }
        guard let version = try value("reptok.format_version").int else {
            throw RuntimeError.badMetadata(path: path, key: "reptok.format_version", reason: "expected an integer")
        }
        guard version == ModelConfig.supportedFormatVersion else {
            throw RuntimeError.unsupportedFormatVersion(path: path, found: version, supported: ModelConfig.supportedFormatVersion)
        }

        imageSize = try int("reptok.image_size", limit: 8192)
        scaleFactor = try float("reptok.scale_factor")
        guard scaleFactor != 0 else { throw RuntimeError.badMetadata(path: path, key: "reptok.scale_factor", reason: "must not be 0") }

        encoder = Encoder(width: try int("reptok.encoder.width"), depth: try int("reptok.encoder.depth", limit: 1024),
                          heads: try int("reptok.encoder.heads", limit: 1024), patchSize: try int("reptok.encoder.patch_size", limit: 1024),
                          inputSize: try int("reptok.encoder.input_size", limit: 8192),
                          registers: md["reptok.encoder.registers"]?.int ?? 0,
                          mlpHidden: try int("reptok.encoder.mlp_hidden"), lnEps: try float("reptok.encoder.ln_eps"))
        adapter = Adapter(width: try int("reptok.adapter.width"))
        decoder = Decoder(width: try int("reptok.decoder.width"), depth: try int("reptok.decoder.depth", limit: 1024),
                          heads: try int("reptok.decoder.heads", limit: 1024), headDim: try int("reptok.decoder.head_dim", limit: 4096),
                          ffHidden: try int("reptok.decoder.ff_hidden"), ropeFreqs: try int("reptok.decoder.rope_freqs", limit: 4096),
                          latentChannels: try int("reptok.decoder.latent_channels", limit: 1024),
                          latentH: try int("reptok.decoder.latent_h", limit: 1024), latentW: try int("reptok.decoder.latent_w", limit: 1024),
                          patchSize: try int("reptok.decoder.patch_size", limit: 64))
        mapping = Mapping(width: try int("reptok.mapping.width"), depth: try int("reptok.mapping.depth", limit: 1024),
                          hidden: try int("reptok.mapping.hidden"), timeFeatures: try int("reptok.mapping.time_features"))
        guard let blocks = try value("reptok.vae.block_out_channels").intArray, !blocks.isEmpty, blocks.count <= 16,
              blocks.allSatisfy({ $0 >= 1 && $0 <= 1 << 16 }) else {
            throw RuntimeError.badMetadata(path: path, key: "reptok.vae.block_out_channels", reason: "expected 1 to 16 positive integers, found \(md["reptok.vae.block_out_channels"]!)")
        }
        vae = VAE(blockOutChannels: blocks, layersPerBlock: try int("reptok.vae.layers_per_block", limit: 64),
                  normGroups: try int("reptok.vae.norm_groups", limit: 1 << 16),
                  scalingFactor: try float("reptok.vae.scaling_factor"), shiftFactor: md["reptok.vae.shift_factor"]?.float ?? 0)
        generator = Generator(channels: try int("reptok.generator.channels"), dim: try int("reptok.generator.dim"),
                              depth: try int("reptok.generator.depth", limit: 1024),
                              expansionToken: try int("reptok.generator.expansion_token", limit: 1024),
                              expansionChannel: try int("reptok.generator.expansion_channel", limit: 1024),
                              numClasses: try int("reptok.generator.num_classes"))
        // Sampling defaults: the release's values when absent.
        let steps = md["reptok.sample.num_steps"]?.int ?? 50
        let cfg = md["reptok.sample.cfg_scale"]?.float ?? 1.5
        let iv = md["reptok.sample.t_interval"]?.floatArray ?? [0.3, 0.9]
        guard steps >= 1, iv.count == 2, iv[0] <= iv[1], cfg.isFinite else {
            throw RuntimeError.badMetadata(path: path, key: "reptok.sample.*", reason: "num_steps \(steps), cfg_scale \(cfg), t_interval \(iv)")
        }
        sampling = Sampling(numSteps: steps, cfgScale: cfg, tInterval: iv[0] ... iv[1])

        try check(path: path)
    }

    /// Cross-checks between sizes; every model below relies on them.
    private func check(path: String) throws {
        func require(_ ok: Bool, _ reason: @autoclosure () -> String) throws {
            if !ok { throw RuntimeError.inconsistentConfig(path: path, reason: reason()) }
        }
        try require(encoder.width % encoder.heads == 0, "encoder width \(encoder.width) is not a multiple of heads \(encoder.heads)")
        try require(encoder.inputSize % encoder.patchSize == 0, "encoder input \(encoder.inputSize) is not a multiple of patch \(encoder.patchSize)")
        try require(adapter.width == decoder.width, "adapter width \(adapter.width) ≠ decoder width \(decoder.width)")
        try require(adapter.width >= encoder.width, "adapter width \(adapter.width) < token width \(encoder.width)")
        try require(decoder.width == decoder.heads * decoder.headDim, "decoder width \(decoder.width) ≠ heads \(decoder.heads) × head size \(decoder.headDim)")
        try require(4 * decoder.ropeFreqs <= decoder.headDim, "4 × rope_freqs \(decoder.ropeFreqs) exceeds head size \(decoder.headDim)")
        try require(decoder.latentH % decoder.patchSize == 0 && decoder.latentW % decoder.patchSize == 0,
                    "latent \(decoder.latentH)×\(decoder.latentW) is not a multiple of patch \(decoder.patchSize)")
        try require(decoder.latentH == decoder.latentW, "only square latents are supported (\(decoder.latentH)×\(decoder.latentW))")
        let up = 1 << (vae.blockOutChannels.count - 1)
        try require(decoder.latentH * up == imageSize, "latent \(decoder.latentH) × 2^\(vae.blockOutChannels.count - 1) ≠ image size \(imageSize)")
        try require(vae.blockOutChannels.allSatisfy { $0 % vae.normGroups == 0 }, "VAE channels \(vae.blockOutChannels) not multiples of \(vae.normGroups) groups")
        try require(generator.channels == encoder.width, "generator channels \(generator.channels) ≠ token width \(encoder.width)")
        try require(vae.scalingFactor != 0, "VAE scaling factor is 0")
    }
}

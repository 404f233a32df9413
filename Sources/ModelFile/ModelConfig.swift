// The model configuration (docs/model.md, 'Release sizes'): the one description of every size,
// constant and sampling default that a converted file records as `reptok.*` metadata
// (docs/gguf-format.md). The converter resolves it, synthetic presets store it as JSON, the runtime
// reads it back; writer, reader and the sizes derived from it live here together.
import Foundation
import Formats

/// Errors from reading a model configuration out of GGUF metadata. Every case names the file; the
/// metadata cases name the key.
public enum ModelConfigError: Error, CustomStringConvertible, Equatable {
    /// `general.architecture` is not `reptok`.
    case wrongArchitecture(path: String, found: String)
    /// `reptok.format_version` is not `ModelConfig.supportedFormatVersion`.
    case unsupportedFormatVersion(path: String, found: Int, supported: Int)
    /// A required metadata key is absent.
    case missingMetadata(path: String, key: String)
    /// A metadata value has the wrong type or an impossible value.
    case badMetadata(path: String, key: String, reason: String)
    /// Values contradict each other (for example width ≠ heads × head size); every problem is listed.
    case inconsistent(path: String, problems: [String])

    public var description: String {
        switch self {
        case let .wrongArchitecture(path, found):
            return "\(path): general.architecture is \"\(found)\", expected \"reptok\" (convert the checkpoint with `reptok convert`)"
        case let .unsupportedFormatVersion(path, found, supported):
            return "\(path): reptok.format_version is \(found), this reader reads version \(supported)"
        case let .missingMetadata(path, key):
            return "\(path): metadata key \(key) is missing"
        case let .badMetadata(path, key, reason):
            return "\(path): metadata \(key): \(reason)"
        case let .inconsistent(path, problems):
            return "\(path): inconsistent model configuration: \(problems.joined(separator: "; "))"
        }
    }
}

/// Every size and sampling default a converted file records as `reptok.*` metadata
/// (docs/gguf-format.md), grouped per component. Sizes are element counts unless noted; the numbers
/// in parentheses are the release model's (docs/model.md, 'Release sizes', `ModelPreset.xl`).
///
/// Codable with camelCase property names; presets store it as snake_case JSON (`models/presets/`).
/// `metadata()` writes it, `init(metadata:path:)` reads it back and checks it.
public struct ModelConfig: Codable, Equatable, Sendable {
    /// DINOv2 encoder (docs/model.md, 'Encoder').
    public struct Encoder: Codable, Equatable, Sendable {
        /// Token width C (768). Also the RepTok token size.
        public var width = 0
        /// Transformer blocks (12).
        public var depth = 0
        /// Attention heads (12); the converter derives width / 64 (the head size of every DINOv2).
        public var heads = 0
        /// Patch side p in pixels (14).
        public var patchSize = 0
        /// Encoder input side E in pixels (224), a multiple of p.
        public var inputSize = 0
        /// Register tokens R (4; 0 when the checkpoint has none).
        public var registers = 0
        /// MLP hidden size (3072).
        public var mlpHidden = 0
        /// LayerNorm epsilon (1e-6).
        public var lnEps: Float = 1e-6
        public init(width: Int = 0, depth: Int = 0, heads: Int = 0, patchSize: Int = 0, inputSize: Int = 0, registers: Int = 0,
                    mlpHidden: Int = 0, lnEps: Float = 1e-6) {
            self.width = width; self.depth = depth; self.heads = heads; self.patchSize = patchSize
            self.inputSize = inputSize; self.registers = registers; self.mlpHidden = mlpHidden; self.lnEps = lnEps
        }
        /// Patches per side g = E / p (16).
        public var grid: Int { patchSize > 0 ? inputSize / patchSize : 0 }
    }

    /// Adapter (docs/model.md, 'Adapter'): token → decoder condition.
    public struct Adapter: Codable, Equatable, Sendable {
        /// Output width (= decoder width, 1152).
        public var width = 0
        /// LayerNorm epsilon of `backbone.ln` (1e-5).
        public var lnEps: Float = 1e-5
        public init(width: Int = 0, lnEps: Float = 1e-5) { self.width = width; self.lnEps = lnEps }
    }

    /// Decoder transformer (docs/model.md, 'Decoder transformer').
    public struct Decoder: Codable, Equatable, Sendable {
        /// Model width (1152) = heads × headDim.
        public var width = 0
        /// Transformer layers (28).
        public var depth = 0
        /// Attention heads (16).
        public var heads = 0
        /// Head size (72).
        public var headDim = 0
        /// SwiGLU hidden size (3456); `ff.up_proj` has 2× this many outputs.
        public var ffHidden = 0
        /// RoPE frequencies per axis and head (9); rotated dims per head = 4 × this ≤ headDim.
        public var ropeFreqs = 0
        /// Latent channels (4, the SD-VAE's).
        public var latentChannels = 0
        /// Latent height in latent pixels (32), a multiple of patchSize.
        public var latentH = 0
        /// Latent width in latent pixels (32), a multiple of patchSize; the runtime needs latentW = latentH.
        public var latentW = 0
        /// Latent patch side (2).
        public var patchSize = 0
        /// Epsilon of the AdaRMSNorms and of the split's RMSNorm (1e-6).
        public var rmsEps: Float = 1e-6
        /// Epsilon of the cosine scaling of q and k (1e-6).
        public var qkEps: Float = 1e-6
        public init(width: Int = 0, depth: Int = 0, heads: Int = 0, headDim: Int = 0, ffHidden: Int = 0, ropeFreqs: Int = 0,
                    latentChannels: Int = 0, latentH: Int = 0, latentW: Int = 0, patchSize: Int = 0,
                    rmsEps: Float = 1e-6, qkEps: Float = 1e-6) {
            self.width = width; self.depth = depth; self.heads = heads; self.headDim = headDim; self.ffHidden = ffHidden
            self.ropeFreqs = ropeFreqs; self.latentChannels = latentChannels; self.latentH = latentH; self.latentW = latentW
            self.patchSize = patchSize; self.rmsEps = rmsEps; self.qkEps = qkEps
        }
    }

    /// Mapping network and time embedding (docs/model.md, 'Time conditioning').
    public struct Mapping: Codable, Equatable, Sendable {
        /// Width M of the conditioning vector (1024).
        public var width = 0
        /// Mapping blocks (2).
        public var depth = 0
        /// SwiGLU hidden size (3072).
        public var hidden = 0
        /// Fourier features F (rows of `time_emb.weight`, 512); the embedding has 2F values.
        public var timeFeatures = 0
        /// Epsilon of the mapping network's RMSNorms (1e-6).
        public var rmsEps: Float = 1e-6
        public init(width: Int = 0, depth: Int = 0, hidden: Int = 0, timeFeatures: Int = 0, rmsEps: Float = 1e-6) {
            self.width = width; self.depth = depth; self.hidden = hidden; self.timeFeatures = timeFeatures; self.rmsEps = rmsEps
        }
    }

    /// SD-VAE decoder (docs/model.md, 'VAE decoder').
    public struct VAE: Codable, Equatable, Sendable {
        /// Channels of the encoder's down blocks ([128, 256, 512, 512], 1 to 16 entries); the decoder
        /// walks them in reverse and upsamples by 2^(count − 1).
        public var blockOutChannels: [Int] = []
        /// Resnets per down block (2); up blocks have one more.
        public var layersPerBlock = 0
        /// GroupNorm groups (32); every channel count is a multiple of it.
        public var normGroups = 0
        /// Latent scaling factor (0.18215): latent = z / scaling + shift before decoding. Nonzero.
        public var scalingFactor: Float = 0
        /// Latent shift factor (0).
        public var shiftFactor: Float = 0
        /// GroupNorm epsilon (1e-6).
        public var normEps: Float = 1e-6
        public init(blockOutChannels: [Int] = [], layersPerBlock: Int = 0, normGroups: Int = 0, scalingFactor: Float = 0, shiftFactor: Float = 0,
                    normEps: Float = 1e-6) {
            self.blockOutChannels = blockOutChannels; self.layersPerBlock = layersPerBlock; self.normGroups = normGroups
            self.scalingFactor = scalingFactor; self.shiftFactor = shiftFactor; self.normEps = normEps
        }
        /// Spatial upsampling of the decoder, 2^(blocks − 1) (8).
        public var factor: Int { 1 << max(blockOutChannels.count - 1, 0) }
    }

    /// MLP-Mixer generator (docs/model.md, 'Generator').
    public struct Generator: Codable, Equatable, Sendable {
        /// Token size C (= encoder width, 768).
        public var channels = 0
        /// Inner width D (1536).
        public var dim = 0
        /// Mixer blocks (28).
        public var depth = 0
        /// Token-mixing expansion e (3; the Conv1d has 3e channels).
        public var expansionToken = 0
        /// Channel-mixing expansion e′ (4; hidden D·e′).
        public var expansionChannel = 0
        /// Classes K (1000); the label table has K + 1 rows, row K is "unconditional".
        public var numClasses = 0
        /// LayerNorm epsilon of the mixer (1e-5).
        public var lnEps: Float = 1e-5
        public init(channels: Int = 0, dim: Int = 0, depth: Int = 0, expansionToken: Int = 0, expansionChannel: Int = 0, numClasses: Int = 0,
                    lnEps: Float = 1e-5) {
            self.channels = channels; self.dim = dim; self.depth = depth; self.expansionToken = expansionToken
            self.expansionChannel = expansionChannel; self.numClasses = numClasses; self.lnEps = lnEps
        }
    }

    /// Sampling defaults (docs/model.md, 'Checkpoint layout').
    public struct Sampling: Codable, Equatable, Sendable {
        /// Euler steps (50).
        public var numSteps = 50
        /// Classifier-free guidance scale (1.5).
        public var cfgScale: Float = 1.5
        /// Guidance interval [lo, hi] in flow time (0.3 ... 0.9); JSON `[lo, hi]`.
        public var tInterval: ClosedRange<Float> = 0.3 ... 0.9
        public init(numSteps: Int = 50, cfgScale: Float = 1.5, tInterval: ClosedRange<Float> = 0.3 ... 0.9) {
            self.numSteps = numSteps; self.cfgScale = cfgScale; self.tInterval = tInterval
        }
    }

    /// Output image side S in pixels (256) = latentH × vae.factor.
    public var imageSize = 0
    /// Token scale (docs/model.md, 'Encoder' and 'Adapter'), 1.0 unless the checkpoint says otherwise. Finite, nonzero.
    public var scaleFactor: Float = 1
    public var encoder = Encoder()
    public var adapter = Adapter()
    public var decoder = Decoder()
    public var mapping = Mapping()
    public var vae = VAE()
    public var generator = Generator()
    public var sampling = Sampling()

    /// Every field zero (sizes) or the release default (epsilon, sampling); for building one up.
    public init() {}

    /// The only `reptok.format_version` this reader reads (and the converter writes).
    public static let supportedFormatVersion = 1

    // MARK: Writer

    /// The `reptok.*` architecture metadata, in documentation order (sizes as uint32, factors as
    /// float32). The converter and `SyntheticModel` write exactly these entries.
    public func metadata() -> [(String, GGUFValue)] {
        func u(_ v: Int) -> GGUFValue { .uint32(UInt32(clamping: v)) }
        let e = encoder, d = decoder, m = mapping, g = generator
        return [
            ("reptok.image_size", u(imageSize)),
            ("reptok.scale_factor", .float32(scaleFactor)),
            ("reptok.encoder.width", u(e.width)), ("reptok.encoder.depth", u(e.depth)),
            ("reptok.encoder.heads", u(e.heads)), ("reptok.encoder.patch_size", u(e.patchSize)),
            ("reptok.encoder.input_size", u(e.inputSize)), ("reptok.encoder.registers", u(e.registers)),
            ("reptok.encoder.mlp_hidden", u(e.mlpHidden)), ("reptok.encoder.ln_eps", .float32(e.lnEps)),
            ("reptok.adapter.width", u(adapter.width)), ("reptok.adapter.ln_eps", .float32(adapter.lnEps)),
            ("reptok.decoder.width", u(d.width)), ("reptok.decoder.depth", u(d.depth)),
            ("reptok.decoder.heads", u(d.heads)), ("reptok.decoder.head_dim", u(d.headDim)),
            ("reptok.decoder.ff_hidden", u(d.ffHidden)), ("reptok.decoder.rope_freqs", u(d.ropeFreqs)),
            ("reptok.decoder.latent_channels", u(d.latentChannels)), ("reptok.decoder.latent_h", u(d.latentH)),
            ("reptok.decoder.latent_w", u(d.latentW)), ("reptok.decoder.patch_size", u(d.patchSize)),
            ("reptok.decoder.rms_eps", .float32(d.rmsEps)), ("reptok.decoder.qk_eps", .float32(d.qkEps)),
            ("reptok.mapping.width", u(m.width)), ("reptok.mapping.depth", u(m.depth)),
            ("reptok.mapping.hidden", u(m.hidden)), ("reptok.mapping.time_features", u(m.timeFeatures)),
            ("reptok.mapping.rms_eps", .float32(m.rmsEps)),
            ("reptok.vae.block_out_channels", .array(vae.blockOutChannels.map(u))),
            ("reptok.vae.layers_per_block", u(vae.layersPerBlock)), ("reptok.vae.norm_groups", u(vae.normGroups)),
            ("reptok.vae.scaling_factor", .float32(vae.scalingFactor)), ("reptok.vae.shift_factor", .float32(vae.shiftFactor)),
            ("reptok.vae.norm_eps", .float32(vae.normEps)),
            ("reptok.generator.channels", u(g.channels)), ("reptok.generator.dim", u(g.dim)),
            ("reptok.generator.depth", u(g.depth)), ("reptok.generator.expansion_token", u(g.expansionToken)),
            ("reptok.generator.expansion_channel", u(g.expansionChannel)), ("reptok.generator.num_classes", u(g.numClasses)),
            ("reptok.generator.ln_eps", .float32(g.lnEps)),
            ("reptok.sample.num_steps", u(sampling.numSteps)), ("reptok.sample.cfg_scale", .float32(sampling.cfgScale)),
            ("reptok.sample.t_interval", .array([sampling.tInterval.lowerBound, sampling.tInterval.upperBound].map { .float32($0) })),
        ]
    }

    // MARK: Reader

    /// Reads and checks the metadata of a converted file: identity (`general.architecture`,
    /// `reptok.format_version`), every size within its bound (refusing absurd sizes before anything
    /// is allocated), then `problems()`. Optional keys: `encoder.registers` (0), `vae.shift_factor`
    /// (0), `sample.*` (the release defaults) and the normalization epsilons other than
    /// `encoder.ln_eps` (the release's values; files written before those keys existed). Throws `ModelConfigError` naming the key and `path`.
    public init(metadata md: [String: GGUFValue], path: String) throws {
        func value(_ key: String) throws -> GGUFValue {
            guard let v = md[key] else { throw ModelConfigError.missingMetadata(path: path, key: key) }
            return v
        }
        /// Positive integer, at most `limit`.
        func int(_ key: String, limit: Int = 1 << 20) throws -> Int {
            let v = try value(key)
            guard let i = v.int else { throw ModelConfigError.badMetadata(path: path, key: key, reason: "expected an integer, found \(v)") }
            guard i >= 1, i <= limit else { throw ModelConfigError.badMetadata(path: path, key: key, reason: "\(i) is outside 1...\(limit)") }
            return i
        }
        func float(_ key: String) throws -> Float {
            let v = try value(key)
            guard let f = v.float, f.isFinite else { throw ModelConfigError.badMetadata(path: path, key: key, reason: "expected a finite number, found \(v)") }
            return f
        }
        /// A normalization epsilon: `fallback` when the key is absent (files written before it existed).
        func eps(_ key: String, _ fallback: Float) throws -> Float {
            guard let v = md[key] else { return fallback }
            guard let f = v.float, f.isFinite, f >= 0 else {
                throw ModelConfigError.badMetadata(path: path, key: key, reason: "expected a finite number ≥ 0, found \(v)")
            }
            return f
        }

        // Identity of the file.
        let archValue = try value("general.architecture")
        guard let arch = archValue.string else {
            throw ModelConfigError.badMetadata(path: path, key: "general.architecture", reason: "expected a string, found \(archValue)")
        }
        guard arch == "reptok" else { throw ModelConfigError.wrongArchitecture(path: path, found: arch) }
        guard let version = try value("reptok.format_version").int else {
            throw ModelConfigError.badMetadata(path: path, key: "reptok.format_version", reason: "expected an integer")
        }
        guard version == Self.supportedFormatVersion else {
            throw ModelConfigError.unsupportedFormatVersion(path: path, found: version, supported: Self.supportedFormatVersion)
        }

        imageSize = try int("reptok.image_size", limit: 8192)
        scaleFactor = try float("reptok.scale_factor")
        guard scaleFactor != 0 else { throw ModelConfigError.badMetadata(path: path, key: "reptok.scale_factor", reason: "must not be 0") }

        encoder = Encoder(width: try int("reptok.encoder.width"), depth: try int("reptok.encoder.depth", limit: 1024),
                          heads: try int("reptok.encoder.heads", limit: 1024), patchSize: try int("reptok.encoder.patch_size", limit: 1024),
                          inputSize: try int("reptok.encoder.input_size", limit: 8192),
                          registers: md["reptok.encoder.registers"]?.int ?? 0,
                          mlpHidden: try int("reptok.encoder.mlp_hidden"), lnEps: try float("reptok.encoder.ln_eps"))
        adapter = Adapter(width: try int("reptok.adapter.width"), lnEps: try eps("reptok.adapter.ln_eps", 1e-5))
        decoder = Decoder(width: try int("reptok.decoder.width"), depth: try int("reptok.decoder.depth", limit: 1024),
                          heads: try int("reptok.decoder.heads", limit: 1024), headDim: try int("reptok.decoder.head_dim", limit: 4096),
                          ffHidden: try int("reptok.decoder.ff_hidden"), ropeFreqs: try int("reptok.decoder.rope_freqs", limit: 4096),
                          latentChannels: try int("reptok.decoder.latent_channels", limit: 1024),
                          latentH: try int("reptok.decoder.latent_h", limit: 1024), latentW: try int("reptok.decoder.latent_w", limit: 1024),
                          patchSize: try int("reptok.decoder.patch_size", limit: 64),
                          rmsEps: try eps("reptok.decoder.rms_eps", 1e-6), qkEps: try eps("reptok.decoder.qk_eps", 1e-6))
        mapping = Mapping(width: try int("reptok.mapping.width"), depth: try int("reptok.mapping.depth", limit: 1024),
                          hidden: try int("reptok.mapping.hidden"), timeFeatures: try int("reptok.mapping.time_features"),
                          rmsEps: try eps("reptok.mapping.rms_eps", 1e-6))
        let blocksValue = try value("reptok.vae.block_out_channels")
        guard let blocks = blocksValue.intArray, !blocks.isEmpty, blocks.count <= 16, blocks.allSatisfy({ $0 >= 1 && $0 <= 1 << 16 }) else {
            throw ModelConfigError.badMetadata(path: path, key: "reptok.vae.block_out_channels", reason: "expected 1 to 16 positive integers, found \(blocksValue)")
        }
        vae = VAE(blockOutChannels: blocks, layersPerBlock: try int("reptok.vae.layers_per_block", limit: 64),
                  normGroups: try int("reptok.vae.norm_groups", limit: 1 << 16),
                  scalingFactor: try float("reptok.vae.scaling_factor"), shiftFactor: md["reptok.vae.shift_factor"]?.float ?? 0,
                  normEps: try eps("reptok.vae.norm_eps", 1e-6))
        generator = Generator(channels: try int("reptok.generator.channels"), dim: try int("reptok.generator.dim"),
                              depth: try int("reptok.generator.depth", limit: 1024),
                              expansionToken: try int("reptok.generator.expansion_token", limit: 1024),
                              expansionChannel: try int("reptok.generator.expansion_channel", limit: 1024),
                              numClasses: try int("reptok.generator.num_classes"), lnEps: try eps("reptok.generator.ln_eps", 1e-5))
        // Sampling defaults: the release's values when absent.
        let steps = md["reptok.sample.num_steps"]?.int ?? 50
        let cfg = md["reptok.sample.cfg_scale"]?.float ?? 1.5
        let iv = md["reptok.sample.t_interval"]?.floatArray ?? [0.3, 0.9]
        guard steps >= 1, iv.count == 2, iv[0] <= iv[1], cfg.isFinite else {
            throw ModelConfigError.badMetadata(path: path, key: "reptok.sample.*", reason: "num_steps \(steps), cfg_scale \(cfg), t_interval \(iv)")
        }
        sampling = Sampling(numSteps: steps, cfgScale: cfg, tInterval: iv[0] ... iv[1])

        let p = problems()
        guard p.isEmpty else { throw ModelConfigError.inconsistent(path: path, problems: p) }
    }

    // MARK: Checks

    /// Every size below 1 and every contradiction between sizes, as messages naming the fields
    /// (snake_case, as in the metadata keys and the preset JSON); empty when consistent. The models
    /// rely on all of these. Cross-checks are made only when every size is positive.
    public func problems() -> [String] {
        var p: [String] = []
        let e = encoder, d = decoder, m = mapping, g = generator
        for (v, w) in [(imageSize, "image_size"), (e.width, "encoder.width"), (e.depth, "encoder.depth"), (e.heads, "encoder.heads"),
                       (e.patchSize, "encoder.patch_size"), (e.inputSize, "encoder.input_size"),
                       (e.mlpHidden, "encoder.mlp_hidden"), (adapter.width, "adapter.width"),
                       (m.width, "mapping.width"), (m.depth, "mapping.depth"), (m.hidden, "mapping.hidden"),
                       (m.timeFeatures, "mapping.time_features"), (d.width, "decoder.width"),
                       (d.depth, "decoder.depth"), (d.heads, "decoder.heads"), (d.headDim, "decoder.head_dim"),
                       (d.ffHidden, "decoder.ff_hidden"), (d.ropeFreqs, "decoder.rope_freqs"),
                       (d.latentChannels, "decoder.latent_channels"), (d.latentH, "decoder.latent_h"),
                       (d.latentW, "decoder.latent_w"), (d.patchSize, "decoder.patch_size"),
                       (vae.layersPerBlock, "vae.layers_per_block"), (vae.normGroups, "vae.norm_groups"),
                       (g.channels, "generator.channels"), (g.dim, "generator.dim"), (g.depth, "generator.depth"),
                       (g.expansionToken, "generator.expansion_token"), (g.expansionChannel, "generator.expansion_channel"),
                       (g.numClasses, "generator.num_classes"), (sampling.numSteps, "sample.num_steps")] where v < 1 {
            p.append("\(w) must be ≥ 1 (is \(v))")
        }
        if e.registers < 0 { p.append("encoder.registers must be ≥ 0 (is \(e.registers))") }
        guard p.isEmpty else { return p }

        if e.width % e.heads != 0 { p.append("encoder.width \(e.width) is not a multiple of encoder.heads \(e.heads)") }
        if e.inputSize % e.patchSize != 0 { p.append("encoder.input_size \(e.inputSize) is not a multiple of patch_size \(e.patchSize)") }
        if adapter.width != d.width { p.append("adapter.width \(adapter.width) ≠ decoder.width \(d.width)") }
        if adapter.width < e.width { p.append("adapter.width \(adapter.width) < encoder.width \(e.width)") }
        if d.heads * d.headDim != d.width { p.append("decoder.heads × head_dim = \(d.heads) × \(d.headDim) ≠ width \(d.width)") }
        if 4 * d.ropeFreqs > d.headDim { p.append("4 × decoder.rope_freqs \(d.ropeFreqs) exceeds head_dim \(d.headDim)") }
        if d.latentH % d.patchSize != 0 || d.latentW % d.patchSize != 0 {
            p.append("latent \(d.latentH)×\(d.latentW) is not a multiple of decoder.patch_size \(d.patchSize)")
        }
        if d.latentH != d.latentW { p.append("only square latents are supported (latent \(d.latentH)×\(d.latentW))") }
        if vae.blockOutChannels.isEmpty || vae.blockOutChannels.count > 16 || vae.blockOutChannels.contains(where: { $0 < 1 }) {
            p.append("vae.block_out_channels must hold 1 to 16 positive numbers (is \(vae.blockOutChannels))")
        } else {
            if vae.blockOutChannels.contains(where: { $0 % vae.normGroups != 0 }) {
                p.append("vae.block_out_channels \(vae.blockOutChannels) are not multiples of norm_groups \(vae.normGroups)")
            }
            if d.latentH * vae.factor != imageSize { p.append("latent_h \(d.latentH) × 2^\(vae.blockOutChannels.count - 1) ≠ image_size \(imageSize)") }
        }
        if g.channels != e.width { p.append("generator.channels \(g.channels) ≠ encoder.width \(e.width)") }
        if !(scaleFactor.isFinite && scaleFactor != 0) { p.append("scale_factor must be finite and nonzero") }
        if !e.lnEps.isFinite { p.append("encoder.ln_eps must be finite") }
        for (v, w) in [(adapter.lnEps, "adapter.ln_eps"), (d.rmsEps, "decoder.rms_eps"), (d.qkEps, "decoder.qk_eps"),
                       (m.rmsEps, "mapping.rms_eps"), (vae.normEps, "vae.norm_eps"), (g.lnEps, "generator.ln_eps")]
        where !(v.isFinite && v >= 0) {
            p.append("\(w) must be finite and ≥ 0 (is \(v))")
        }
        if !(vae.scalingFactor.isFinite && vae.scalingFactor != 0) || !vae.shiftFactor.isFinite {
            p.append("vae scaling/shift factors must be finite, scaling nonzero")
        }
        if !sampling.cfgScale.isFinite || !sampling.tInterval.lowerBound.isFinite || !sampling.tInterval.upperBound.isFinite {
            p.append("sample: cfg_scale and t_interval must be finite")
        }
        return p
    }
}

// MARK: - Derived sizes

extension ModelConfig {
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
}

extension ModelConfig.Encoder {
    /// Head size = width / heads (64).
    public var headDim: Int { width / heads }
    /// Sequence length 1 + R + g² (261).
    public var tokens: Int { 1 + registers + grid * grid }
}

extension ModelConfig.Decoder {
    /// Patch tokens (latentH/p × latentW/p = 256).
    public var patchTokens: Int { (latentH / patchSize) * (latentW / patchSize) }
    /// Values per patch: p × p × latent channels (16).
    public var patchValues: Int { patchSize * patchSize * latentChannels }
    /// Sequence length: conditioning token + patch tokens (257).
    public var tokens: Int { 1 + patchTokens }
}

/// GGUF key of the class names: an array of `num_classes` strings, each `name, synonym, ...`.
public let classNamesKey = "reptok.class_names"

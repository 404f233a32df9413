// The model configuration (docs/model.md, 'Release sizes'): every size, constant and sampling
// default that a converted file records as `reptok.*` metadata (docs/gguf-format.md). The converter
// resolves it, synthetic presets store it as JSON, the runtime reads it back. Which key holds which
// field, with its type, rule and default, is `MetadataSchema`; the writer and reader here walk it.
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
            return "\(path): general.architecture is \"\(found)\", expected \"\(MetadataSchema.architecture)\" (convert the checkpoint with `reptok convert`)"
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

    // MARK: Writer and reader

    /// The configuration's metadata entries (`MetadataSchema.configuration`), in file order: sizes
    /// as uint32, factors as float32.
    public func metadata() -> [(String, GGUFValue)] {
        MetadataSchema.configuration.compactMap { e in e.value(in: self).map { (e.key, $0) } }
    }

    /// Reads and checks the metadata of a converted file: identity (`general.architecture`,
    /// `reptok.format_version`), then every configuration key of `MetadataSchema` by its rule
    /// (refusing absurd sizes before anything is allocated; an optional key a file lacks gets its
    /// release value), then `problems()`. Throws `ModelConfigError` naming the key and `path`.
    public init(metadata md: [String: GGUFValue], path: String) throws {
        try MetadataSchema.checkIdentity(md, path: path)
        self.init()
        for entry in MetadataSchema.configuration {
            guard let v = md[entry.key] ?? (entry.optional ? entry.release : nil) else {
                throw ModelConfigError.missingMetadata(path: path, key: entry.key)
            }
            if let reason = entry.problem(with: v) { throw ModelConfigError.badMetadata(path: path, key: entry.key, reason: reason) }
            entry.store(v, into: &self)
        }
        let p = problems()
        guard p.isEmpty else { throw ModelConfigError.inconsistent(path: path, problems: p) }
    }

    // MARK: Checks

    /// Every value outside its key's rule (`MetadataEntry.problem`, the reader's checks) and every
    /// contradiction between sizes, as messages naming the fields (snake_case, as in the metadata
    /// keys and the preset JSON); empty when consistent. The models rely on all of these.
    /// Cross-checks are made only when every value passes its own rule.
    public func problems() -> [String] {
        // Every key's own rule (the reader's), then the cross-checks.
        var p: [String] = []
        for entry in MetadataSchema.configuration {
            if let why = entry.problem(in: self) { p.append("\(entry.fieldName): \(why)") }
        }
        guard p.isEmpty else { return p }
        let e = encoder, d = decoder, g = generator

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
        if vae.blockOutChannels.contains(where: { $0 % vae.normGroups != 0 }) {
            p.append("vae.block_out_channels \(vae.blockOutChannels) are not multiples of norm_groups \(vae.normGroups)")
        }
        if d.latentH * vae.factor != imageSize { p.append("latent_h \(d.latentH) × 2^\(vae.blockOutChannels.count - 1) ≠ image_size \(imageSize)") }
        if g.channels != e.width { p.append("generator.channels \(g.channels) ≠ encoder.width \(e.width)") }
        p += workload()
        return p
    }

    /// Most sampler steps (decoder or generator): the release uses 50.
    public static let maxSteps = 10_000
    /// Most tokens of the encoder's and the decoder's attention (the release: 261 and 257): the
    /// runtime's buffers and attention grow with them, and only metadata sets them.
    public static let maxTokens = 4097
    /// Most floats in one VAE activation (largest side² × its channels; the release: 2^25):
    /// the decoder keeps three of them.
    public static let maxVAEActivation = 1 << 29
    /// Most floats in one transformer buffer (tokens × the widest layer, 2^20 in the release) and
    /// in the decoder's position tables (tokens × width × depth, 2^23 in the release).
    public static let maxBuffer = 1 << 28

    /// Sizes the schema's per-key ranges allow but the runtime cannot serve on any machine this
    /// runs on: checked before anything is allocated, each with what it would cost.
    func workload() -> [String] {
        var p: [String] = []
        let e = encoder, d = decoder, g = generator, s = sampling
        if e.tokens > ModelConfig.maxTokens || d.tokens > ModelConfig.maxTokens {
            p.append("encoder/decoder tokens \(e.tokens)/\(d.tokens) exceed \(ModelConfig.maxTokens) (attention grows with their square)")
        }
        /// Whether the product of `dims` is at most `cap` (false when it overflows).
        func within(_ dims: [Int], _ cap: Int) -> Bool { shapeProducts(dims).map { $0.count <= UInt64(cap) } ?? false }
        let buffers = [("encoder activations", [e.tokens, max(e.width, e.mlpHidden)]),
                       ("decoder activations", [d.tokens, max(d.width, d.ffHidden)]),
                       ("decoder position tables", [d.tokens, d.width, d.depth])]
        for (what, sizes) in buffers where !within(sizes, ModelConfig.maxBuffer) {
            p.append("\(what) (\(sizes.map(String.init).joined(separator: " × ")) floats) exceed \(ModelConfig.maxBuffer)")
        }
        // The generator's token mixer runs 3 rows through a hidden layer of 3·e (at most 64 wide).
        if 3 * g.expansionToken > 64 { p.append("generator.expansion_token \(g.expansionToken) exceeds 21 (3 × it must be ≤ 64)") }
        if s.numSteps > ModelConfig.maxSteps { p.append("sample.num_steps \(s.numSteps) exceeds \(ModelConfig.maxSteps)") }
        if s.tInterval.lowerBound < 0 || s.tInterval.upperBound > 1 { p.append("sample.t_interval \(s.tInterval) is not within 0...1") }
        let widest = vae.blockOutChannels.max() ?? 0
        if !within([imageSize, imageSize, widest], ModelConfig.maxVAEActivation) {
            p.append("the VAE's largest activation (\(imageSize)² × \(widest) channels) exceeds \(ModelConfig.maxVAEActivation) floats")
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

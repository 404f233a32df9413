// The model configuration of a checkpoint, resolved from (in order) hyper_parameters, model.yaml,
// vae-config.json, tensor shapes, and the release constants of docs/model.md, 'Release sizes'.
import Formats
import Foundation
import ModelFile

/// Where a resolved value came from (shown in the conversion report).
public enum ConfigSource: String, Sendable {
    case hyperParameters = "hyper_parameters"
    case modelYAML = "model.yaml"
    case vaeConfig = "vae-config.json"
    case tensorShapes = "tensor shapes"
    case derived = "derived"
    case releaseConstant = "release constant"
}

/// Two facts about the source checkpoint that shape the converter's input tensors but are not
/// model sizes (and so not in `ModelConfig` or the file's metadata).
public struct CheckpointLayout: Equatable, Sendable {
    /// Side of the checkpoint's square positional grid (37 in the release); the converter writes the
    /// table resized to `encoder.grid`.
    public var encPosGrid = 0
    /// Adapter extra tokens (`new_reg` rows, 2 in the release; 0 when absent).
    public var adapterNewReg = 0

    public init(encPosGrid: Int = 0, adapterNewReg: Int = 0) {
        self.encPosGrid = encPosGrid
        self.adapterNewReg = adapterNewReg
    }
}

/// Resolves a `ModelConfig` and the `CheckpointLayout` from a checkpoint and its configs. Collects
/// every missing key and every conflict, then throws them together.
struct ConfigResolver {
    let hparams: ConfigValue?
    let yaml: ConfigValue?
    let vae: ConfigValue?
    /// Shapes of the kept tensors by GGUF name (source layout).
    let shapes: [String: [Int]]
    var config = ModelConfig()
    var layout = CheckpointLayout()
    /// (metadata key, value text, source) for the report.
    var provenance: [(key: String, value: String, source: ConfigSource)] = []
    var missing: [String] = []
    var conflicts: [String] = []
    /// Hyper-parameters that are present but could not be read (unresolved interpolations, nulls,
    /// strings), each with the value used instead.
    var warnings: [String] = []
    /// Hyper-parameters that only a call could produce (refused: nothing is called).
    var refused: [String] = []

    init(hparams: ConfigValue?, yaml: ConfigValue?, vae: ConfigValue?, shapes: [String: [Int]]) {
        self.hparams = hparams
        self.yaml = yaml
        self.vae = vae
        self.shapes = shapes
    }

    /// YAML value at a path under the `model:` root (or at the top when there is no such root).
    func y(_ path: String) -> ConfigValue? { yaml?[path: "model." + path] ?? yaml?[path: path] }
    func h(_ path: String) -> ConfigValue? { hparams?[path: path] }
    func v(_ path: String) -> ConfigValue? { vae?[path: path] }

    /// The shape of a kept tensor, recording it as missing when absent.
    mutating func shape(_ name: String, rank: Int) -> [Int]? {
        guard let s = shapes[name] else { missing.append(name); return nil }
        guard s.count == rank else { conflicts.append("\(name): shape \(s), expected rank \(rank)"); return nil }
        return s
    }

    /// Number of consecutive `prefix<i>.` blocks present (0, 1, 2, ...).
    func count(_ prefix: String) -> Int {
        var n = 0
        while shapes.keys.contains(where: { $0.hasPrefix("\(prefix)\(n).") }) { n += 1 }
        return n
    }

    /// Picks the first configured value, checks it against the tensor-derived one, records provenance.
    mutating func pick(_ key: String, _ configured: [(ConfigValue?, ConfigSource)], tensor: Int?, fallback: (Int, ConfigSource)? = nil) -> Int {
        var unread: [(ConfigValue, ConfigSource)] = []
        defer { for (c, src) in unread { cannotRead(key, c, src) } }
        for (c, src) in configured {
            if let i = c?.int {
                if let t = tensor, t != i { conflicts.append("\(key): \(src.rawValue) says \(i), tensor shapes say \(t)") }
                provenance.append((key, "\(i)", src))
                return i
            }
            if let c { unread.append((c, src)) }
        }
        if let t = tensor { provenance.append((key, "\(t)", .tensorShapes)); return t }
        if let (f, src) = fallback { provenance.append((key, "\(f)", src)); return f }
        missing.append(key)
        return 0
    }

    mutating func pickFloat(_ key: String, _ configured: [(ConfigValue?, ConfigSource)], fallback: Float) -> Float {
        var unread: [(ConfigValue, ConfigSource)] = []
        defer { for (c, src) in unread { cannotRead(key, c, src) } }
        for (c, src) in configured {
            if let d = c?.double { provenance.append((key, "\(Float(d))", src)); return Float(d) }
            if let c { unread.append((c, src)) }
        }
        provenance.append((key, "\(fallback)", .releaseConstant))
        return fallback
    }

    /// A value no config gives (the normalization epsilons): the release's, recorded as such.
    mutating func releaseConstant(_ key: String, _ value: Float) {
        provenance.append((key, "\(value)", .releaseConstant))
    }

    /// A hyper-parameter that is there but is not a number: refused when only a call could produce it,
    /// otherwise a warning naming the value used instead (the last provenance entry for `key`).
    mutating func cannotRead(_ key: String, _ value: ConfigValue, _ src: ConfigSource) {
        guard src == .hyperParameters else { return }
        if let why = value.notReadReason, why.hasPrefix("object built by") {
            refused.append("\(key): hyper_parameters value would be the \(why); refusing (nothing was executed)")
            return
        }
        let used = provenance.last(where: { $0.key == key }).map { "\($0.value) [\($0.source.rawValue)]" } ?? "none"
        let shown = value.notReadReason.map { "<\($0)>" } ?? (value == .null ? "null" : "\"\(value)\"")
        warnings.append("\(key): cannot read hyper_parameters value \(shown); using \(used)")
    }

    /// Resolves `config` and `layout` step by step; each step records provenance, missing keys
    /// and conflicts in that order (the report lists them in this order).
    mutating func resolve() {
        var c = ModelConfig()
        resolveEncoder(&c)
        resolveAdapter(&c)
        resolveDecoder(&c)
        resolveLatentChannels(&c)
        resolveVAE(&c)
        resolveSizes(&c)
        resolveMapping(&c)
        resolveGenerator(&c)
        resolveSampling(&c)
        config = c
    }
}

private typealias N = TensorNames

extension ConfigResolver {
    /// Encoder (DINOv2): everything but the input size is in the tensors.
    private mutating func resolveEncoder(_ c: inout ModelConfig) {
        let cls = shape(N.Encoder.clsToken, rank: 3)
        let patch = shape(N.Encoder.patchEmbed.weight, rank: 4)
        let pos = shape(N.Encoder.posEmbed, rank: 3)
        let fc1 = shape(N.Encoder.block(0).fc1.weight, rank: 2)
        c.encoder.width = pick("reptok.encoder.width", [(y("encoder.dino.embed_dim"), .modelYAML)], tensor: cls?[2])
        c.encoder.depth = pick("reptok.encoder.depth", [], tensor: count(N.Encoder.blocks) > 0 ? count(N.Encoder.blocks) : nil)
        c.encoder.heads = c.encoder.width / 64
        provenance.append(("reptok.encoder.heads", "\(c.encoder.heads)", .derived))
        c.encoder.patchSize = pick("reptok.encoder.patch_size", [], tensor: patch?[2])
        if let p = patch, p[2] != p[3] { conflicts.append("\(N.Encoder.patchEmbed.weight): non-square kernel \(p)") }
        c.encoder.inputSize = pick("reptok.encoder.input_size", [(y("encoder.dino.model_size"), .modelYAML)], tensor: nil, fallback: (224, .releaseConstant))
        c.encoder.registers = pick("reptok.encoder.registers", [], tensor: shapes[N.Encoder.registerTokens]?.dropFirst().first ?? 0)
        c.encoder.mlpHidden = pick("reptok.encoder.mlp_hidden", [], tensor: fc1?[0])
        c.encoder.lnEps = 1e-6
        releaseConstant("reptok.encoder.ln_eps", c.encoder.lnEps)
        if let p = pos {
            let n = Int(Double(p[1] - 1).squareRoot().rounded())
            if n * n + 1 != p[1] { conflicts.append("\(N.Encoder.posEmbed): \(p[1]) rows is not 1 + a square grid") }
            layout.encPosGrid = n
        }
        if c.encoder.patchSize > 0, c.encoder.inputSize % c.encoder.patchSize != 0 { conflicts.append("reptok.encoder.input_size: \(c.encoder.inputSize) is not a multiple of the patch size \(c.encoder.patchSize)") }
    }

    /// Adapter.
    private mutating func resolveAdapter(_ c: inout ModelConfig) {
        let fc = shape(N.Adapter.fc.weight, rank: 2)
        c.adapter.width = pick("reptok.adapter.width", [], tensor: fc?[0])
        releaseConstant("reptok.adapter.ln_eps", c.adapter.lnEps)
        layout.adapterNewReg = shapes[N.Adapter.newReg].map { $0.count == 3 ? $0[1] : 0 } ?? 0
    }

    /// Decoder transformer.
    private mutating func resolveDecoder(_ c: inout ModelConfig) {
        let merge = shape(N.Decoder.mergeProj.weight, rank: 2)
        _ = shape(N.Decoder.preProj.weight, rank: 2)   // checked here, read by `resolveLatentChannels`
        let scale = shape(N.Decoder.layer(0).headScale, rank: 1)
        let down = shape(N.Decoder.layer(0).down.weight, rank: 2)
        let freqs = shape(N.Decoder.layer(0).ropeFreqs, rank: 3)
        c.decoder.width = pick("reptok.decoder.width", [(y("backbone.main_level.width"), .modelYAML)], tensor: merge?[0])
        let layers = count(N.Decoder.layers)
        c.decoder.depth = pick("reptok.decoder.depth", [(y("backbone.main_level.depth"), .modelYAML)], tensor: layers > 0 ? layers : nil)
        c.decoder.heads = pick("reptok.decoder.heads", [], tensor: scale?[0])
        c.decoder.headDim = pick("reptok.decoder.head_dim", [(y("backbone.main_level.layer_params.d_head"), .modelYAML)],
                            tensor: c.decoder.heads > 0 ? c.decoder.width / c.decoder.heads : nil)
        if c.decoder.heads * c.decoder.headDim != c.decoder.width { conflicts.append("reptok.decoder.heads × head_dim = \(c.decoder.heads) × \(c.decoder.headDim) ≠ width \(c.decoder.width)") }
        c.decoder.ffHidden = pick("reptok.decoder.ff_hidden", [], tensor: down?[1])
        c.decoder.ropeFreqs = pick("reptok.decoder.rope_freqs", [], tensor: freqs?[2])
        releaseConstant("reptok.decoder.rms_eps", c.decoder.rmsEps)
        releaseConstant("reptok.decoder.qk_eps", c.decoder.qkEps)
    }

    /// Latent channels (model.yaml val_shape, the VAE config or its tensors) and the decoder's
    /// patch size (model.yaml, or the pre-projection's inputs ÷ channels).
    private mutating func resolveLatentChannels(_ c: inout ModelConfig) {
        let pre = shapes[N.Decoder.preProj.weight].flatMap { $0.count == 2 ? $0 : nil }
        let pqc = shape(N.VAE.postQuantConv.weight, rank: 4)
        let valShape = y("val_shape")?.list
        c.decoder.latentChannels = pick("reptok.decoder.latent_channels", [(valShape?.first, .modelYAML), (v("latent_channels"), .vaeConfig)], tensor: pqc?[0])
        let yamlPatch = y("backbone.main_level.proj_params.in_params.pre_proj_params.patch_size")
        var tensorPatch: Int? = nil
        if let p = pre, c.decoder.latentChannels > 0 {
            let r = Int(Double(p[1] / c.decoder.latentChannels).squareRoot().rounded())
            if r * r * c.decoder.latentChannels == p[1] { tensorPatch = r } else { conflicts.append("\(N.Decoder.preProj.weight): \(p[1]) inputs is not p²×\(c.decoder.latentChannels)") }
        }
        c.decoder.patchSize = pick("reptok.decoder.patch_size", [(yamlPatch?.list?.first ?? yamlPatch, .modelYAML)], tensor: tensorPatch)
    }

    /// VAE decoder.
    private mutating func resolveVAE(_ c: inout ModelConfig) {
        var tensorChannels: [Int] = []
        let ups = count(N.VAE.upBlocks)
        for b in 0 ..< ups {
            if let s = shapes[N.VAE.upBlock(b).resnet(0).conv2.weight] { tensorChannels.insert(s[0], at: 0) }
        }
        if let vc = v("block_out_channels")?.list?.compactMap(\.int), !vc.isEmpty {
            if !tensorChannels.isEmpty, vc != tensorChannels { conflicts.append("reptok.vae.block_out_channels: vae-config.json says \(vc), tensor shapes say \(tensorChannels)") }
            c.vae.blockOutChannels = vc
            provenance.append(("reptok.vae.block_out_channels", "\(vc)", .vaeConfig))
        } else if !tensorChannels.isEmpty {
            c.vae.blockOutChannels = tensorChannels
            provenance.append(("reptok.vae.block_out_channels", "\(tensorChannels)", .tensorShapes))
        } else {
            missing.append(N.VAE.upBlock(0).resnet(0).conv2.weight)
        }
        let resnets = count(N.VAE.upBlock(0).resnets)
        c.vae.layersPerBlock = pick("reptok.vae.layers_per_block", [(v("layers_per_block"), .vaeConfig)], tensor: resnets > 0 ? resnets - 1 : nil)
        c.vae.normGroups = pick("reptok.vae.norm_groups", [(v("norm_num_groups"), .vaeConfig)], tensor: nil, fallback: (32, .releaseConstant))
        c.vae.scalingFactor = pickFloat("reptok.vae.scaling_factor", [(v("scaling_factor"), .vaeConfig)], fallback: 0.18215)
        c.vae.shiftFactor = pickFloat("reptok.vae.shift_factor", [(v("shift_factor"), .vaeConfig)], fallback: 0)
        releaseConstant("reptok.vae.norm_eps", c.vae.normEps)
    }

    /// Latent size: model.yaml val_shape, else the hyper_parameters image size / VAE factor, else
    /// docs/model.md, 'Release sizes' (32×32). Image size: hyper_parameters, else latent × VAE factor.
    private mutating func resolveSizes(_ c: inout ModelConfig) {
        let valShape = y("val_shape")?.list
        let factor = c.vae.factor
        let hImageValue = h("first_stage_cfg.params.image_size")
        let hImage = hImageValue?.int
        let yLatH = valShape.flatMap { $0.count == 3 ? $0[1].int : nil }
        let yLatW = valShape.flatMap { $0.count == 3 ? $0[2].int : nil }
        if let lh = yLatH, let lw = yLatW {
            c.decoder.latentH = lh; c.decoder.latentW = lw
            provenance.append(("reptok.decoder.latent_h/w", "\(lh)×\(lw)", .modelYAML))
        } else if let i = hImage {
            c.decoder.latentH = i / factor; c.decoder.latentW = c.decoder.latentH
            provenance.append(("reptok.decoder.latent_h/w", "\(c.decoder.latentH)×\(c.decoder.latentW)", .derived))
        } else {
            c.decoder.latentH = 32; c.decoder.latentW = 32
            provenance.append(("reptok.decoder.latent_h/w", "32×32", .releaseConstant))
        }
        if let i = hImage {
            c.imageSize = i; provenance.append(("reptok.image_size", "\(i)", .hyperParameters))
        } else {
            // The decoder draws latentH × latentW; the VAE upsamples by `factor` (256 in the release).
            c.imageSize = c.decoder.latentH &* factor; provenance.append(("reptok.image_size", "\(c.imageSize)", .derived))
        }
        if let v = hImageValue, hImage == nil {
            // The latent size comes from the image size unless model.yaml gives it.
            if yLatH == nil || yLatW == nil { cannotRead("reptok.decoder.latent_h/w", v, .hyperParameters) }
            cannotRead("reptok.image_size", v, .hyperParameters)
        }
        if c.decoder.latentH.multipliedReportingOverflow(by: factor) != (c.imageSize, false) { conflicts.append("reptok.image_size \(c.imageSize) ≠ latent \(c.decoder.latentH) × VAE factor \(factor)") }
        if c.decoder.patchSize > 0, c.decoder.latentH % c.decoder.patchSize != 0 || c.decoder.latentW % c.decoder.patchSize != 0 {
            conflicts.append("latent \(c.decoder.latentH)×\(c.decoder.latentW) is not a multiple of the decoder patch \(c.decoder.patchSize)")
        }
        c.scaleFactor = pickFloat("reptok.scale_factor", [(h("first_stage_cfg.params.scale_factor"), .hyperParameters)], fallback: 1)
    }

    /// Mapping network.
    private mutating func resolveMapping(_ c: inout ModelConfig) {
        let tin = shape(N.TimeConditioning.timeInProj.weight, rank: 2)
        let temb = shape(N.TimeConditioning.timeEmb, rank: 2)
        let mdown = shape(N.TimeConditioning.block(0).down.weight, rank: 2)
        c.mapping.width = pick("reptok.mapping.width", [(y("mapping.width"), .modelYAML)], tensor: tin?[0])
        let mblocks = count(N.TimeConditioning.blocks)
        c.mapping.depth = pick("reptok.mapping.depth", [(y("mapping.depth"), .modelYAML)], tensor: mblocks > 0 ? mblocks : nil)
        c.mapping.hidden = pick("reptok.mapping.hidden", [(y("mapping.d_ff"), .modelYAML)], tensor: mdown?[1])
        c.mapping.timeFeatures = pick("reptok.mapping.time_features", [], tensor: temb?[0])
        releaseConstant("reptok.mapping.rms_eps", c.mapping.rmsEps)
    }

    /// Generator.
    private mutating func resolveGenerator(_ c: inout ModelConfig) {
        let g = "flow_cfg.params.net_cfg.params."
        let gpos = shape(N.Generator.posEmbed, rank: 3)
        let gin = shape(N.Generator.inProj.weight, rank: 2)
        let gtok = shape(N.Generator.layer(1).tokenFc1.weight, rank: 3)
        let gch = shape(N.Generator.layer(1).channelFc1.weight, rank: 2)
        let gtab = shape(N.Generator.labelTable, rank: 2)
        c.generator.channels = pick("reptok.generator.channels", [(h(g + "channels"), .hyperParameters)], tensor: gpos?[2])
        c.generator.dim = pick("reptok.generator.dim", [(h(g + "dim"), .hyperParameters)], tensor: gin?[0])
        var depth = 0
        while shapes[N.Generator.layer(depth + 1).tokenFc1.weight] != nil { depth += 1 }
        c.generator.depth = pick("reptok.generator.depth", [(h(g + "depth"), .hyperParameters)], tensor: depth > 0 ? depth : nil)
        c.generator.expansionToken = pick("reptok.generator.expansion_token", [(h(g + "expansion_factor"), .hyperParameters)],
                             tensor: gtok.map { $0[0] / max($0[1], 1) })
        c.generator.expansionChannel = pick("reptok.generator.expansion_channel", [(h(g + "expansion_factor_token"), .hyperParameters)],
                               tensor: c.generator.dim > 0 ? gch.map { $0[0] / c.generator.dim } : nil)
        c.generator.numClasses = pick("reptok.generator.num_classes", [(h(g + "num_classes"), .hyperParameters)], tensor: gtab.map { $0[0] - 1 })
        releaseConstant("reptok.generator.ln_eps", c.generator.lnEps)
        if c.generator.channels != c.encoder.width { conflicts.append("reptok.generator.channels \(c.generator.channels) ≠ encoder width \(c.encoder.width)") }
    }

    /// Sampling defaults.
    private mutating func resolveSampling(_ c: inout ModelConfig) {
        c.sampling.numSteps = pick("reptok.sample.num_steps", [(h("sample_kwargs.num_steps"), .hyperParameters)], tensor: nil, fallback: (50, .releaseConstant))
        c.sampling.cfgScale = pickFloat("reptok.sample.cfg_scale", [(h("sample_kwargs.cfg_scale"), .hyperParameters)], fallback: 1.5)
        let tiValue = h("sample_kwargs.t_interval")
        if let ti = tiValue?.list?.compactMap(\.double).map(Float.init), ti.count == 2, tiValue?.list?.count == 2 {
            if ti[0] <= ti[1] {
                c.sampling.tInterval = ti[0] ... ti[1]
            } else {
                conflicts.append("reptok.sample.t_interval: hyper_parameters say \(ti), expected [lo, hi] with lo ≤ hi")
            }
            provenance.append(("reptok.sample.t_interval", "\(ti)", .hyperParameters))
        } else {
            c.sampling.tInterval = 0.3 ... 0.9; provenance.append(("reptok.sample.t_interval", "[0.3, 0.9]", .releaseConstant))
            if let v = tiValue { cannotRead("reptok.sample.t_interval", v, .hyperParameters) }
        }
    }
}

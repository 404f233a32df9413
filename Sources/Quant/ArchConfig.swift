// Architecture sizes of a checkpoint, resolved from (in order) hyper_parameters, model.yaml,
// vae-config.json, tensor shapes, and the release constants of spec §3.
import Foundation

/// Where a resolved value came from (shown in the conversion report).
public enum ConfigSource: String, Sendable {
    case hyperParameters = "hyper_parameters"
    case modelYAML = "model.yaml"
    case vaeConfig = "vae-config.json"
    case tensorShapes = "tensor shapes"
    case derived = "derived"
    case releaseConstant = "release constant (spec §3)"
}

/// Every number the converted file records as `reptok.*` metadata (docs/gguf-format.md).
public struct ArchConfig: Equatable, Sendable {
    public var imageSize = 0
    public var scaleFactor: Float = 1
    // Encoder (DINOv2).
    public var encWidth = 0, encDepth = 0, encHeads = 0, encPatch = 0, encInput = 0, encRegisters = 0, encMLP = 0
    public var encLnEps: Float = 1e-6
    /// Side of the checkpoint's square positional grid (37 in the release).
    public var encPosGrid = 0
    public var adapterWidth = 0
    /// Adapter extra tokens (`new_reg` rows, 2 in the release; 0 when absent).
    public var adapterNewReg = 0
    // Decoder transformer.
    public var decWidth = 0, decDepth = 0, decHeads = 0, decHeadDim = 0, decFF = 0, decRopeFreqs = 0
    public var latentChannels = 0, latentH = 0, latentW = 0, decPatch = 0
    // Mapping network.
    public var mapWidth = 0, mapDepth = 0, mapHidden = 0, timeFeatures = 0
    // VAE decoder.
    public var vaeChannels: [Int] = []
    public var vaeLayersPerBlock = 0, vaeNormGroups = 0
    public var vaeScaling: Float = 0, vaeShift: Float = 0
    // Generator.
    public var genChannels = 0, genDim = 0, genDepth = 0, genExpToken = 0, genExpChannel = 0, genClasses = 0
    // Sampling defaults.
    public var numSteps = 0
    public var cfgScale: Float = 0
    public var tInterval: [Float] = []

    /// Encoder patch grid side g = input / patch.
    public var encGrid: Int { encPatch > 0 ? encInput / encPatch : 0 }
    /// VAE spatial factor 2^(blocks−1).
    public var vaeFactor: Int { 1 << max(vaeChannels.count - 1, 0) }

    /// The `reptok.*` metadata, in documentation order.
    public var metadata: [(String, GGUFValue)] {
        func u(_ v: Int) -> GGUFValue { .uint32(UInt32(clamping: v)) }
        return [
            ("reptok.image_size", u(imageSize)),
            ("reptok.scale_factor", .float32(scaleFactor)),
            ("reptok.encoder.width", u(encWidth)), ("reptok.encoder.depth", u(encDepth)),
            ("reptok.encoder.heads", u(encHeads)), ("reptok.encoder.patch_size", u(encPatch)),
            ("reptok.encoder.input_size", u(encInput)), ("reptok.encoder.registers", u(encRegisters)),
            ("reptok.encoder.mlp_hidden", u(encMLP)), ("reptok.encoder.ln_eps", .float32(encLnEps)),
            ("reptok.adapter.width", u(adapterWidth)),
            ("reptok.decoder.width", u(decWidth)), ("reptok.decoder.depth", u(decDepth)),
            ("reptok.decoder.heads", u(decHeads)), ("reptok.decoder.head_dim", u(decHeadDim)),
            ("reptok.decoder.ff_hidden", u(decFF)), ("reptok.decoder.rope_freqs", u(decRopeFreqs)),
            ("reptok.decoder.latent_channels", u(latentChannels)), ("reptok.decoder.latent_h", u(latentH)),
            ("reptok.decoder.latent_w", u(latentW)), ("reptok.decoder.patch_size", u(decPatch)),
            ("reptok.mapping.width", u(mapWidth)), ("reptok.mapping.depth", u(mapDepth)),
            ("reptok.mapping.hidden", u(mapHidden)), ("reptok.mapping.time_features", u(timeFeatures)),
            ("reptok.vae.block_out_channels", .array(vaeChannels.map(u))),
            ("reptok.vae.layers_per_block", u(vaeLayersPerBlock)), ("reptok.vae.norm_groups", u(vaeNormGroups)),
            ("reptok.vae.scaling_factor", .float32(vaeScaling)), ("reptok.vae.shift_factor", .float32(vaeShift)),
            ("reptok.generator.channels", u(genChannels)), ("reptok.generator.dim", u(genDim)),
            ("reptok.generator.depth", u(genDepth)), ("reptok.generator.expansion_token", u(genExpToken)),
            ("reptok.generator.expansion_channel", u(genExpChannel)), ("reptok.generator.num_classes", u(genClasses)),
            ("reptok.sample.num_steps", u(numSteps)), ("reptok.sample.cfg_scale", .float32(cfgScale)),
            ("reptok.sample.t_interval", .array(tInterval.map { .float32($0) })),
        ]
    }
}

/// Resolves an `ArchConfig`. Collects every missing key and every conflict, then throws them together.
struct ArchResolver {
    let hparams: ConfigValue?
    let yaml: ConfigValue?
    let vae: ConfigValue?
    /// Shapes of the kept tensors by GGUF name (source layout).
    let shapes: [String: [Int]]
    var config = ArchConfig()
    /// (metadata key, value text, source) for the report.
    var provenance: [(key: String, value: String, source: ConfigSource)] = []
    var missing: [String] = []
    var conflicts: [String] = []

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
        for (c, src) in configured {
            if let i = c?.int {
                if let t = tensor, t != i { conflicts.append("\(key): \(src.rawValue) says \(i), tensor shapes say \(t)") }
                provenance.append((key, "\(i)", src))
                return i
            }
        }
        if let t = tensor { provenance.append((key, "\(t)", .tensorShapes)); return t }
        if let (f, src) = fallback { provenance.append((key, "\(f)", src)); return f }
        missing.append(key)
        return 0
    }

    mutating func pickFloat(_ key: String, _ configured: [(ConfigValue?, ConfigSource)], fallback: Float) -> Float {
        for (c, src) in configured { if let d = c?.double { provenance.append((key, "\(Float(d))", src)); return Float(d) } }
        provenance.append((key, "\(fallback)", .releaseConstant))
        return fallback
    }

    mutating func resolve() {
        var c = ArchConfig()

        // Encoder (DINOv2): everything but the input size is in the tensors.
        let cls = shape("enc.cls_token", rank: 3)
        let patch = shape("enc.patch_embed.proj.weight", rank: 4)
        let pos = shape("enc.pos_embed", rank: 3)
        let fc1 = shape("enc.blocks.0.mlp.fc1.weight", rank: 2)
        c.encWidth = pick("reptok.encoder.width", [(y("encoder.dino.embed_dim"), .modelYAML)], tensor: cls?[2])
        c.encDepth = pick("reptok.encoder.depth", [], tensor: count("enc.blocks.") > 0 ? count("enc.blocks.") : nil)
        c.encHeads = c.encWidth / 64
        provenance.append(("reptok.encoder.heads", "\(c.encHeads)", .derived))
        c.encPatch = pick("reptok.encoder.patch_size", [], tensor: patch?[2])
        if let p = patch, p[2] != p[3] { conflicts.append("enc.patch_embed.proj.weight: non-square kernel \(p)") }
        c.encInput = pick("reptok.encoder.input_size", [(y("encoder.dino.model_size"), .modelYAML)], tensor: nil, fallback: (224, .releaseConstant))
        c.encRegisters = pick("reptok.encoder.registers", [], tensor: shapes["enc.register_tokens"]?.dropFirst().first ?? 0)
        c.encMLP = pick("reptok.encoder.mlp_hidden", [], tensor: fc1?[0])
        c.encLnEps = 1e-6
        if let p = pos {
            let n = Int(Double(p[1] - 1).squareRoot().rounded())
            if n * n + 1 != p[1] { conflicts.append("enc.pos_embed: \(p[1]) rows is not 1 + a square grid") }
            c.encPosGrid = n
        }
        if c.encPatch > 0, c.encInput % c.encPatch != 0 { conflicts.append("reptok.encoder.input_size: \(c.encInput) is not a multiple of the patch size \(c.encPatch)") }

        // Adapter.
        let fc = shape("adapter.backbone.fc.weight", rank: 2)
        c.adapterWidth = pick("reptok.adapter.width", [], tensor: fc?[0])
        c.adapterNewReg = shapes["adapter.new_reg"].map { $0.count == 3 ? $0[1] : 0 } ?? 0

        // Decoder transformer.
        let merge = shape("dec.backbone.mid_merge.proj.weight", rank: 2)
        let pre = shape("dec.backbone.mid_merge.pre_proj.proj.weight", rank: 2)
        let scale = shape("dec.backbone.mid_level.0.self_attn.scale", rank: 1)
        let down = shape("dec.backbone.mid_level.0.ff.down_proj.weight", rank: 2)
        let freqs = shape("dec.backbone.mid_level.0.self_attn.pos_emb.freqs", rank: 3)
        c.decWidth = pick("reptok.decoder.width", [(y("backbone.main_level.width"), .modelYAML)], tensor: merge?[0])
        let layers = count("dec.backbone.mid_level.")
        c.decDepth = pick("reptok.decoder.depth", [(y("backbone.main_level.depth"), .modelYAML)], tensor: layers > 0 ? layers : nil)
        c.decHeads = pick("reptok.decoder.heads", [], tensor: scale?[0])
        c.decHeadDim = pick("reptok.decoder.head_dim", [(y("backbone.main_level.layer_params.d_head"), .modelYAML)],
                            tensor: c.decHeads > 0 ? c.decWidth / c.decHeads : nil)
        if c.decHeads * c.decHeadDim != c.decWidth { conflicts.append("reptok.decoder.heads × head_dim = \(c.decHeads) × \(c.decHeadDim) ≠ width \(c.decWidth)") }
        c.decFF = pick("reptok.decoder.ff_hidden", [], tensor: down?[1])
        c.decRopeFreqs = pick("reptok.decoder.rope_freqs", [], tensor: freqs?[2])

        // Latent: channels from the VAE, size from val_shape (or the image size, or the release constant).
        let pqc = shape("vae.post_quant_conv.weight", rank: 4)
        let valShape = y("val_shape")?.list
        c.latentChannels = pick("reptok.decoder.latent_channels", [(valShape?.first, .modelYAML), (v("latent_channels"), .vaeConfig)], tensor: pqc?[0])
        let yamlPatch = y("backbone.main_level.proj_params.in_params.pre_proj_params.patch_size")
        var tensorPatch: Int? = nil
        if let p = pre, c.latentChannels > 0 {
            let r = Int(Double(p[1] / c.latentChannels).squareRoot().rounded())
            if r * r * c.latentChannels == p[1] { tensorPatch = r } else { conflicts.append("dec.backbone.mid_merge.pre_proj.proj.weight: \(p[1]) inputs is not p²×\(c.latentChannels)") }
        }
        c.decPatch = pick("reptok.decoder.patch_size", [(yamlPatch?.list?.first ?? yamlPatch, .modelYAML)], tensor: tensorPatch)

        // VAE decoder.
        var tensorChannels: [Int] = []
        let ups = count("vae.decoder.up_blocks.")
        for b in 0 ..< ups {
            if let s = shapes["vae.decoder.up_blocks.\(b).resnets.0.conv2.weight"] { tensorChannels.insert(s[0], at: 0) }
        }
        if let vc = v("block_out_channels")?.list?.compactMap(\.int), !vc.isEmpty {
            if !tensorChannels.isEmpty, vc != tensorChannels { conflicts.append("reptok.vae.block_out_channels: vae-config.json says \(vc), tensor shapes say \(tensorChannels)") }
            c.vaeChannels = vc
            provenance.append(("reptok.vae.block_out_channels", "\(vc)", .vaeConfig))
        } else if !tensorChannels.isEmpty {
            c.vaeChannels = tensorChannels
            provenance.append(("reptok.vae.block_out_channels", "\(tensorChannels)", .tensorShapes))
        } else {
            missing.append("vae.decoder.up_blocks.0.resnets.0.conv2.weight")
        }
        let resnets = count("vae.decoder.up_blocks.0.resnets.")
        c.vaeLayersPerBlock = pick("reptok.vae.layers_per_block", [(v("layers_per_block"), .vaeConfig)], tensor: resnets > 0 ? resnets - 1 : nil)
        c.vaeNormGroups = pick("reptok.vae.norm_groups", [(v("norm_num_groups"), .vaeConfig)], tensor: nil, fallback: (32, .releaseConstant))
        c.vaeScaling = pickFloat("reptok.vae.scaling_factor", [(v("scaling_factor"), .vaeConfig)], fallback: 0.18215)
        c.vaeShift = pickFloat("reptok.vae.shift_factor", [(v("shift_factor"), .vaeConfig)], fallback: 0)

        // Latent size: model.yaml val_shape, else the hyper_parameters image size / VAE factor, else spec §3 (32×32).
        // Image size: hyper_parameters, else latent × VAE factor.
        let factor = c.vaeFactor
        let hImage = h("first_stage_cfg.params.image_size")?.int
        let yLatH = valShape.flatMap { $0.count == 3 ? $0[1].int : nil }
        let yLatW = valShape.flatMap { $0.count == 3 ? $0[2].int : nil }
        if let lh = yLatH, let lw = yLatW {
            c.latentH = lh; c.latentW = lw
            provenance.append(("reptok.decoder.latent_h/w", "\(lh)×\(lw)", .modelYAML))
        } else if let i = hImage {
            c.latentH = i / factor; c.latentW = c.latentH
            provenance.append(("reptok.decoder.latent_h/w", "\(c.latentH)×\(c.latentW)", .derived))
        } else {
            c.latentH = 32; c.latentW = 32
            provenance.append(("reptok.decoder.latent_h/w", "32×32", .releaseConstant))
        }
        if let i = hImage {
            c.imageSize = i; provenance.append(("reptok.image_size", "\(i)", .hyperParameters))
        } else {
            // The decoder draws latentH × latentW; the VAE upsamples by `factor` (256 in the release).
            c.imageSize = c.latentH * factor; provenance.append(("reptok.image_size", "\(c.imageSize)", .derived))
        }
        if c.latentH * factor != c.imageSize { conflicts.append("reptok.image_size \(c.imageSize) ≠ latent \(c.latentH) × VAE factor \(factor)") }
        if c.decPatch > 0, c.latentH % c.decPatch != 0 || c.latentW % c.decPatch != 0 {
            conflicts.append("latent \(c.latentH)×\(c.latentW) is not a multiple of the decoder patch \(c.decPatch)")
        }
        c.scaleFactor = pickFloat("reptok.scale_factor", [(h("first_stage_cfg.params.scale_factor"), .hyperParameters)], fallback: 1)

        // Mapping network.
        let tin = shape("dec.time_in_proj.weight", rank: 2)
        let temb = shape("dec.time_emb.weight", rank: 2)
        let mdown = shape("dec.mapping.blocks.0.down_proj.weight", rank: 2)
        c.mapWidth = pick("reptok.mapping.width", [(y("mapping.width"), .modelYAML)], tensor: tin?[0])
        let mblocks = count("dec.mapping.blocks.")
        c.mapDepth = pick("reptok.mapping.depth", [(y("mapping.depth"), .modelYAML)], tensor: mblocks > 0 ? mblocks : nil)
        c.mapHidden = pick("reptok.mapping.hidden", [(y("mapping.d_ff"), .modelYAML)], tensor: mdown?[1])
        c.timeFeatures = pick("reptok.mapping.time_features", [], tensor: temb?[0])

        // Generator.
        let g = "flow_cfg.params.net_cfg.params."
        let gpos = shape("gen.pos_embed", rank: 3)
        let gin = shape("gen.mixer.0.weight", rank: 2)
        let gtok = shape("gen.mixer.1.0.fn.0.weight", rank: 3)
        let gch = shape("gen.mixer.1.1.fn.0.weight", rank: 2)
        let gtab = shape("gen.label_embedder.embedding_table.weight", rank: 2)
        c.genChannels = pick("reptok.generator.channels", [(h(g + "channels"), .hyperParameters)], tensor: gpos?[2])
        c.genDim = pick("reptok.generator.dim", [(h(g + "dim"), .hyperParameters)], tensor: gin?[0])
        var depth = 0
        while shapes["gen.mixer.\(depth + 1).0.fn.0.weight"] != nil { depth += 1 }
        c.genDepth = pick("reptok.generator.depth", [(h(g + "depth"), .hyperParameters)], tensor: depth > 0 ? depth : nil)
        c.genExpToken = pick("reptok.generator.expansion_token", [(h(g + "expansion_factor"), .hyperParameters)],
                             tensor: gtok.map { $0[0] / max($0[1], 1) })
        c.genExpChannel = pick("reptok.generator.expansion_channel", [(h(g + "expansion_factor_token"), .hyperParameters)],
                               tensor: (gch != nil && c.genDim > 0) ? gch![0] / c.genDim : nil)
        c.genClasses = pick("reptok.generator.num_classes", [(h(g + "num_classes"), .hyperParameters)], tensor: gtab.map { $0[0] - 1 })
        if c.genChannels != c.encWidth { conflicts.append("reptok.generator.channels \(c.genChannels) ≠ encoder width \(c.encWidth)") }

        // Sampling defaults.
        c.numSteps = pick("reptok.sample.num_steps", [(h("sample_kwargs.num_steps"), .hyperParameters)], tensor: nil, fallback: (50, .releaseConstant))
        c.cfgScale = pickFloat("reptok.sample.cfg_scale", [(h("sample_kwargs.cfg_scale"), .hyperParameters)], fallback: 1.5)
        if let ti = h("sample_kwargs.t_interval")?.list?.compactMap(\.double), ti.count == 2 {
            c.tInterval = ti.map(Float.init); provenance.append(("reptok.sample.t_interval", "\(c.tInterval)", .hyperParameters))
        } else {
            c.tInterval = [0.3, 0.9]; provenance.append(("reptok.sample.t_interval", "[0.3, 0.9]", .releaseConstant))
        }
        config = c
    }
}

// The model configuration of a checkpoint, resolved from (in order) hyper_parameters, model.yaml,
// vae-config.json, tensor shapes, and the release constants of docs/model.md, 'Release sizes'.
import Formats
import Foundation
import ModelFile

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

    /// Number of consecutive `prefix<i>.` blocks present (0, 1, 2, ...): the indices are collected
    /// in one pass over the keys (a file may hold hundreds of thousands of them).
    func count(_ prefix: String) -> Int {
        var present = Set<Int>()
        for key in shapes.keys where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            guard let dot = rest.firstIndex(of: "."), let i = Int(rest[..<dot]), "\(i)" == rest[..<dot] else { continue }
            present.insert(i)
        }
        var n = 0
        while present.contains(n) { n += 1 }
        return n
    }

    /// The value of one configured place, or nil.
    func lookup(_ l: ConfigLookup) -> ConfigValue? {
        switch l.source {
        case .hyperParameters: return h(l.path)
        case .modelYAML: return y(l.path)
        case .vaeConfig: return v(l.path)
        default: return nil
        }
    }

    /// The schema entry of a configuration field; a field without one is recorded as missing.
    mutating func entry(_ field: AnyKeyPath) -> MetadataEntry? {
        guard let e = MetadataSchema.entry(for: field) else { missing.append("metadata key of \(field)"); return nil }
        return e
    }

    /// Resolves an integer field from, in order: the configured places of its `MetadataSchema`
    /// entry (the first integer wins and is checked against `tensor`), `tensor`, `derived`, the
    /// entry's release value; stores it in `config` and records its provenance (or records the key
    /// as missing).
    @discardableResult
    mutating func pick(_ field: WritableKeyPath<ModelConfig, Int>, tensor: Int?, derived: Int? = nil) -> Int {
        guard let e = entry(field) else { return 0 }
        var unread: [(ConfigValue, ConfigSource)] = []
        defer { for (c, src) in unread { cannotRead(e.key, c, src) } }
        var found: (Int, ConfigSource)?
        for l in e.from {
            guard let c = lookup(l) else { continue }
            guard let i = c.int else { unread.append((c, l.source)); continue }
            if let t = tensor, t != i { conflicts.append("\(e.key): \(l.source.rawValue) says \(i), tensor shapes say \(t)") }
            found = (i, l.source)
            break
        }
        if found == nil, let t = tensor { found = (t, .tensorShapes) }
        if found == nil, let d = derived { found = (d, .derived) }
        if found == nil, let r = e.release?.int { found = (r, .releaseConstant) }
        guard let (picked, source) = found else { missing.append(e.key); return 0 }
        var value = picked
        if case let .size(_, lo, hi) = e.value, !(lo ... hi).contains(value) {
            // Refused at the end; the rest of the resolution goes on with an in-range value, so
            // that no product or shift of hostile sizes overflows before the refusal is thrown.
            conflicts.append("\(e.key): \(source.rawValue) says \(value), outside \(lo)...\(hi)")
            value = min(max(value, lo), hi)
        }
        provenance.append((e.key, "\(value)", source))
        config[keyPath: field] = value
        return value
    }

    /// Resolves a float field: the entry's configured places, then its release value.
    mutating func pick(_ field: WritableKeyPath<ModelConfig, Float>) {
        guard let e = entry(field) else { return }
        var unread: [(ConfigValue, ConfigSource)] = []
        defer { for (c, src) in unread { cannotRead(e.key, c, src) } }
        for l in e.from {
            guard let c = lookup(l) else { continue }
            guard let d = c.double else { unread.append((c, l.source)); continue }
            provenance.append((e.key, "\(Float(d))", l.source))
            config[keyPath: field] = Float(d)
            return
        }
        guard let r = e.release?.float else { missing.append(e.key); return }
        provenance.append((e.key, "\(r)", .releaseConstant))
        config[keyPath: field] = r
    }

    /// Resolves an interval field: a configured list of two numbers [lo, hi] (lo > hi is a
    /// conflict), else the release value.
    mutating func pick(_ field: WritableKeyPath<ModelConfig, ClosedRange<Float>>) {
        guard let e = entry(field) else { return }
        var unread: [(ConfigValue, ConfigSource)] = []
        defer { for (c, src) in unread { cannotRead(e.key, c, src) } }
        for l in e.from {
            guard let c = lookup(l) else { continue }
            guard let list = c.list, list.count == 2, let lo = list[0].double, let hi = list[1].double else {
                unread.append((c, l.source))
                continue
            }
            let pair = [Float(lo), Float(hi)]
            if pair[0] <= pair[1] {
                config[keyPath: field] = pair[0] ... pair[1]
            } else {
                conflicts.append("\(e.key): \(l.source.rawValue) says \(pair), expected [lo, hi] with lo ≤ hi")
            }
            provenance.append((e.key, "\(pair)", l.source))
            return
        }
        guard let r = e.release?.floatArray, r.count == 2 else { missing.append(e.key); return }
        provenance.append((e.key, "\(r)", .releaseConstant))
        config[keyPath: field] = r[0] ... r[1]
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

    /// Resolves `config` and `layout`: first the fields that tensor shapes determine or that
    /// derive from each other, step by step, then every other configuration key of
    /// `MetadataSchema` from its configured places or its release value. Missing keys and
    /// conflicts are recorded in that order; the provenance is listed in file order.
    mutating func resolve() {
        config = ModelConfig()
        resolveEncoder()
        resolveAdapter()
        resolveDecoder()
        resolveLatentChannels()
        resolveVAE()
        resolveSizes()
        resolveMapping()
        resolveGenerator()
        resolveRemaining()
        let order = Dictionary(MetadataSchema.entries.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { a, _ in a })
        provenance = provenance.enumerated().sorted { a, b in
            (order[a.element.key] ?? .max, a.offset) < (order[b.element.key] ?? .max, b.offset)
        }.map(\.element)
    }
}

private typealias N = TensorNames

extension ConfigResolver {
    /// Encoder (DINOv2): everything but the input size is in the tensors.
    private mutating func resolveEncoder() {
        let cls = shape(N.Encoder.clsToken, rank: 3)
        let patch = shape(N.Encoder.patchEmbed.weight, rank: 4)
        let pos = shape(N.Encoder.posEmbed, rank: 3)
        let fc1 = shape(N.Encoder.block(0).fc1.weight, rank: 2)
        let width = pick(\.encoder.width, tensor: cls?[2])
        let blocks = count(N.Encoder.blocks)
        pick(\.encoder.depth, tensor: blocks > 0 ? blocks : nil)
        pick(\.encoder.heads, tensor: nil, derived: width / 64)
        let patchSize = pick(\.encoder.patchSize, tensor: patch?[2])
        if let p = patch, p[2] != p[3] { conflicts.append("\(N.Encoder.patchEmbed.weight): non-square kernel \(p)") }
        let inputSize = pick(\.encoder.inputSize, tensor: nil)
        pick(\.encoder.registers, tensor: shapes[N.Encoder.registerTokens]?.dropFirst().first ?? 0)
        pick(\.encoder.mlpHidden, tensor: fc1?[0])
        if let p = pos {
            // rows = 1 + n²; an empty or absurd table is a conflict, not a square root of a negative
            let n = (1...(1 << 40)).contains(p[1]) ? Int(Double(p[1] - 1).squareRoot().rounded()) : -1
            if n < 0 || n * n + 1 != p[1] { conflicts.append("\(N.Encoder.posEmbed): \(p[1]) rows is not 1 + a square grid") }
            layout.encPosGrid = max(n, 0)
        }
        if patchSize > 0, inputSize % patchSize != 0 {
            conflicts.append("reptok.encoder.input_size: \(inputSize) is not a multiple of the patch size \(patchSize)")
        }
    }

    /// Adapter.
    private mutating func resolveAdapter() {
        let fc = shape(N.Adapter.fc.weight, rank: 2)
        pick(\.adapter.width, tensor: fc?[0])
        layout.adapterNewReg = shapes[N.Adapter.newReg].map { $0.count == 3 ? $0[1] : 0 } ?? 0
    }

    /// Decoder transformer.
    private mutating func resolveDecoder() {
        let merge = shape(N.Decoder.mergeProj.weight, rank: 2)
        _ = shape(N.Decoder.preProj.weight, rank: 2)   // checked here, read by `resolveLatentChannels`
        let scale = shape(N.Decoder.layer(0).headScale, rank: 1)
        let down = shape(N.Decoder.layer(0).down.weight, rank: 2)
        let freqs = shape(N.Decoder.layer(0).ropeFreqs, rank: 3)
        let width = pick(\.decoder.width, tensor: merge?[0])
        let layers = count(N.Decoder.layers)
        pick(\.decoder.depth, tensor: layers > 0 ? layers : nil)
        let heads = pick(\.decoder.heads, tensor: scale?[0])
        let headDim = pick(\.decoder.headDim, tensor: heads > 0 ? width / heads : nil)
        if heads * headDim != width { conflicts.append("reptok.decoder.heads × head_dim = \(heads) × \(headDim) ≠ width \(width)") }
        pick(\.decoder.ffHidden, tensor: down?[1])
        pick(\.decoder.ropeFreqs, tensor: freqs?[2])
    }

    /// Latent channels (model.yaml val_shape, the VAE config or its tensors) and the decoder's
    /// patch size (model.yaml, or the pre-projection's inputs ÷ channels).
    private mutating func resolveLatentChannels() {
        let pre = shapes[N.Decoder.preProj.weight].flatMap { $0.count == 2 ? $0 : nil }
        let pqc = shape(N.VAE.postQuantConv.weight, rank: 4)
        let channels = pick(\.decoder.latentChannels, tensor: pqc?[0])
        var tensorPatch: Int? = nil
        if let p = pre, channels > 0 {
            let r = Int(Double(p[1] / channels).squareRoot().rounded())
            if r * r * channels == p[1] { tensorPatch = r } else { conflicts.append("\(N.Decoder.preProj.weight): \(p[1]) inputs is not p²×\(channels)") }
        }
        pick(\.decoder.patchSize, tensor: tensorPatch)
    }

    /// VAE decoder: the channel list (vae-config.json or the up blocks' shapes) and the resnets per block.
    private mutating func resolveVAE() {
        var tensorChannels: [Int] = []
        let ups = count(N.VAE.upBlocks)
        for b in 0 ..< ups {
            let name = N.VAE.upBlock(b).resnet(0).conv2.weight
            guard let s = shapes[name] else { continue }
            if s.count == 4 { tensorChannels.insert(s[0], at: 0) } else { conflicts.append("\(name): shape \(s), expected rank 4") }
        }
        let key = "reptok.vae.block_out_channels"
        let rule = MetadataSchema.entry(for: \ModelConfig.vae.blockOutChannels)
        var configured: (ConfigSource, [Int])?
        for l in rule?.from ?? [] {
            if let list = lookup(l)?.list?.compactMap(\.int), !list.isEmpty { configured = (l.source, list); break }
        }
        // The reader's rule (1 to 16 sizes in 1...65536) before the list sets the upsampling
        // factor 2^(count − 1): a list that breaks it is a conflict and is not used.
        let conflictsBefore = conflicts.count
        func broken(_ list: [Int], _ source: String) -> Bool {
            guard rule?.problem(with: .array(list.map { .int64(Int64($0)) })) != nil else { return false }
            let shown = list.count > 16 ? "\(list.count) sizes" : "\(list)"
            conflicts.append("\(key): \(source) says \(shown), expected 1 to 16 integers in 1...65536")
            return true
        }
        if let (source, vc) = configured, broken(vc, source.rawValue) { configured = nil }
        if !tensorChannels.isEmpty, broken(tensorChannels, ConfigSource.tensorShapes.rawValue) { tensorChannels = [] }
        if let (source, vc) = configured {
            if !tensorChannels.isEmpty, vc != tensorChannels { conflicts.append("\(key): \(source.rawValue) says \(vc), tensor shapes say \(tensorChannels)") }
            config.vae.blockOutChannels = vc
            provenance.append((key, "\(vc)", source))
        } else if !tensorChannels.isEmpty {
            config.vae.blockOutChannels = tensorChannels
            provenance.append((key, "\(tensorChannels)", .tensorShapes))
        } else if conflicts.count == conflictsBefore {
            missing.append(N.VAE.upBlock(0).resnet(0).conv2.weight)
        }
        let resnets = count(N.VAE.upBlock(0).resnets)
        pick(\.vae.layersPerBlock, tensor: resnets > 0 ? resnets - 1 : nil)
    }

    /// Latent size: model.yaml val_shape, else the hyper_parameters image size / VAE factor, else
    /// the release's (32×32). Image size: hyper_parameters, else latent × VAE factor.
    private mutating func resolveSizes() {
        let factor = config.vae.factor
        let imageValue = h("first_stage_cfg.params.image_size")
        let image = imageValue?.int
        let latentH = pick(\.decoder.latentH, tensor: nil, derived: image.map { $0 / factor })
        let latentW = pick(\.decoder.latentW, tensor: nil, derived: image.map { $0 / factor })
        // The decoder draws latentH × latentW; the VAE upsamples by `factor` (256 in the release).
        let imageSize = pick(\.imageSize, tensor: nil, derived: latentH &* factor)
        if let v = imageValue, image == nil {
            // The latent size would have come from the image size unless model.yaml gives it.
            for key in ["reptok.decoder.latent_h", "reptok.decoder.latent_w"]
            where provenance.last(where: { $0.key == key })?.source != .modelYAML {
                cannotRead(key, v, .hyperParameters)
            }
        }
        if latentH.multipliedReportingOverflow(by: factor) != (imageSize, false) {
            conflicts.append("reptok.image_size \(imageSize) ≠ latent \(latentH) × VAE factor \(factor)")
        }
        let patch = config.decoder.patchSize
        if patch > 0, latentH % patch != 0 || latentW % patch != 0 {
            conflicts.append("latent \(latentH)×\(latentW) is not a multiple of the decoder patch \(patch)")
        }
    }

    /// Mapping network.
    private mutating func resolveMapping() {
        let tin = shape(N.TimeConditioning.timeInProj.weight, rank: 2)
        let temb = shape(N.TimeConditioning.timeEmb, rank: 2)
        let mdown = shape(N.TimeConditioning.block(0).down.weight, rank: 2)
        pick(\.mapping.width, tensor: tin?[0])
        let blocks = count(N.TimeConditioning.blocks)
        pick(\.mapping.depth, tensor: blocks > 0 ? blocks : nil)
        pick(\.mapping.hidden, tensor: mdown?[1])
        pick(\.mapping.timeFeatures, tensor: temb?[0])
    }

    /// Generator.
    private mutating func resolveGenerator() {
        let gpos = shape(N.Generator.posEmbed, rank: 3)
        let gin = shape(N.Generator.inProj.weight, rank: 2)
        let gtok = shape(N.Generator.layer(1).tokenFc1.weight, rank: 3)
        let gch = shape(N.Generator.layer(1).channelFc1.weight, rank: 2)
        let gtab = shape(N.Generator.labelTable, rank: 2)
        let channels = pick(\.generator.channels, tensor: gpos?[2])
        let dim = pick(\.generator.dim, tensor: gin?[0])
        var depth = 0
        while shapes[N.Generator.layer(depth + 1).tokenFc1.weight] != nil { depth += 1 }
        pick(\.generator.depth, tensor: depth > 0 ? depth : nil)
        pick(\.generator.expansionToken, tensor: gtok.map { $0[0] / max($0[1], 1) })
        pick(\.generator.expansionChannel, tensor: dim > 0 ? gch.map { $0[0] / dim } : nil)
        pick(\.generator.numClasses, tensor: gtab.map { $0[0] - 1 })
        if channels != config.encoder.width { conflicts.append("reptok.generator.channels \(channels) ≠ encoder width \(config.encoder.width)") }
    }

    /// Every configuration key the steps above did not resolve (the normalization epsilons, the
    /// VAE factors, the sampling defaults, ...): its configured places, else its release value.
    private mutating func resolveRemaining() {
        let done = Set(provenance.map(\.key)).union(missing)
        for e in MetadataSchema.configuration where !done.contains(e.key) {
            switch e.value {
            case let .size(path, _, _): pick(path, tensor: nil)
            case let .number(path, _): pick(path)
            case let .interval(path): pick(path)
            default: missing.append(e.key)
            }
        }
    }
}

// Checkpoint key → GGUF name: wrapper stripping, the component table of docs/model.md, 'Checkpoint layout', LDM→diffusers VAE names.
import Foundation
import ModelFile

/// Where each part sits in a release checkpoint: converter knowledge, kept beside the key table.
extension Component {
    /// The checkpoint prefix(es) the component is found under (for error messages).
    public var checkpointPrefixes: String {
        typealias P = CheckpointPrefix
        switch self {
        case .encoder: return P.encoder
        case .adapter: return P.adapter + "{new_reg,temp_pos_embed,backbone.*}"
        case .decoder: return P.decoder + "{time_emb,time_in_proj,mapping,backbone}.*"
        case .vae: return P.vae + "{decoder,post_quant_conv}.*"
        case .generator: return P.generatorEMA + "* (or " + P.generator + "*)"
        }
    }
}

/// The checkpoint prefixes (after wrapper stripping) of the parts, each spelled once: `keyRules`
/// maps them to `Component.prefix`, and the error messages name them.
enum CheckpointPrefix {
    static let encoder = "first_stage.encoder.encoder."
    /// The decoder's time conditioning and transformer; the adapter and VAE sit below it.
    static let decoder = "first_stage.decoder.decoder."
    /// The adapter, next to the decoder's second encoder copy (`model.`) and target model (`target_model.`).
    static let adapter = decoder + "encoder.dino."
    static let vae = decoder + "ae.ae."
    /// The generator's EMA copy (`model_ema.net.` in some exports).
    static let generatorEMA = "ema_model.net."
    static let generatorEMAAlternate = "model_ema.net."
    /// The generator's raw (non-EMA) weights.
    static let generator = "model.net."
}

/// Why a checkpoint key is not written.
public enum IgnoredCategory: String, CaseIterable, Sendable {
    case encoderCopy = "second encoder copy (decoder.encoder.dino.model)"
    case targetModel = "frozen target model"
    case vaeEncoder = "VAE encoder / quant_conv"
    case nonEMAGenerator = "non-EMA generator (EMA copy used)"
    case unusedByInference = "unused by inference (mask_token, ...)"
    case trainingState = "optimizer / Lightning state"
    case replacedByComponentFile = "replaced by a separate component file (--encoder / --vae)"
    case unrecognized = "unrecognized keys"
}

/// Where one checkpoint key goes.
enum KeyTarget: Equatable {
    /// Written (after layout changes) under `name`; `ema` marks the generator's EMA copy.
    case keep(component: Component, name: String, ema: Bool)
    case ignore(IgnoredCategory)
}

/// A kept key: the GGUF name is the component's prefix plus the key relative to its checkpoint prefix.
func keep(_ component: Component, _ relative: String, ema: Bool = false) -> KeyTarget {
    .keep(component: component, name: component.prefix + relative, ema: ema)
}

/// The declarative table from checkpoint prefixes (after wrapper stripping) to GGUF prefixes.
/// First match wins, so more specific prefixes come first.
let keyRules: [(prefix: String, target: (String) -> KeyTarget)] = [
    (CheckpointPrefix.generatorEMA, { keep(.generator, $0, ema: true) }),
    (CheckpointPrefix.generatorEMAAlternate, { keep(.generator, $0, ema: true) }),
    (CheckpointPrefix.generator, { keep(.generator, $0) }),
    (CheckpointPrefix.encoder, { $0.hasPrefix("mask_token") ? .ignore(.unusedByInference) : keep(.encoder, $0) }),
    (CheckpointPrefix.adapter + "model.", { _ in .ignore(.encoderCopy) }),
    (CheckpointPrefix.adapter + "target_model.", { _ in .ignore(.targetModel) }),
    (CheckpointPrefix.adapter, { keep(.adapter, $0) }),
    (CheckpointPrefix.vae + "encoder.", { _ in .ignore(.vaeEncoder) }),
    (CheckpointPrefix.vae + "quant_conv.", { _ in .ignore(.vaeEncoder) }),
    (CheckpointPrefix.vae, { keep(.vae, ldmToDiffusersVAE($0)) }),
    (CheckpointPrefix.decoder, { keep(.decoder, $0) }),
    ("optimizer", { _ in .ignore(.trainingState) }),
    ("lr_scheduler", { _ in .ignore(.trainingState) }),
]

/// Where a key of a separate component file goes: DINOv2 hub weights (`cls_token`, `blocks.0…`, possibly
/// under `model.`/`backbone.`) or SD-VAE weights (diffusers `decoder.…`/`post_quant_conv.…`, or LDM names,
/// possibly under `first_stage_model.`/`vae.`).
func componentFileTarget(forKey key: String, component: Component) -> KeyTarget {
    var k = stripWrappers(key)
    switch component {
    case .encoder:
        for p in ["model.", "backbone.", "encoder."] where k.hasPrefix(p) && !k.hasPrefix("blocks.") { k = String(k.dropFirst(p.count)); break }
        if k.hasPrefix("mask_token") { return .ignore(.unusedByInference) }
        return keep(.encoder, k)
    case .vae:
        for p in ["first_stage_model.", "vae."] where k.hasPrefix(p) { k = String(k.dropFirst(p.count)); break }
        if k.hasPrefix("encoder.") || k.hasPrefix("quant_conv.") { return .ignore(.vaeEncoder) }
        if k.hasPrefix("decoder.") || k.hasPrefix("post_quant_conv.") { return keep(.vae, ldmToDiffusersVAE(k)) }
        return .ignore(.unrecognized)
    default:
        return .ignore(.unrecognized)
    }
}

/// Removes `_orig_mod` (torch.compile) and `module` (DataParallel/DDP) path segments.
public func stripWrappers(_ key: String) -> String {
    let parts = key.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.contains(where: { $0 == "_orig_mod" || $0 == "module" }) else { return key }
    return parts.filter { $0 != "_orig_mod" && $0 != "module" }.joined(separator: ".")
}

/// Where `key` goes, by the rule table.
func target(forKey key: String) -> KeyTarget {
    let k = stripWrappers(key)
    for r in keyRules where k.hasPrefix(r.prefix) { return r.target(String(k.dropFirst(r.prefix.count))) }
    return .ignore(.unrecognized)
}

/// Renames original-LDM VAE decoder keys to diffusers names (diffusers names pass through).
///
/// LDM: `decoder.up.<i>` runs from low to high resolution in reverse (`up.<n-1-b>` = `up_blocks.<b>`);
/// the number of up blocks is not known per key, so the index is mapped later by `remapLDMUpBlocks`.
/// Here `up.<i>` becomes `up_blocks.ldm<i>`.
func ldmToDiffusersVAE(_ k: String) -> String {
    guard k.hasPrefix("decoder.") else { return k }
    var s = k
    let pairs: [(String, String)] = [
        ("decoder.mid.block_1.", "decoder.mid_block.resnets.0."),
        ("decoder.mid.block_2.", "decoder.mid_block.resnets.1."),
        ("decoder.mid.attn_1.norm.", "decoder.mid_block.attentions.0.group_norm."),
        ("decoder.mid.attn_1.q.", "decoder.mid_block.attentions.0.to_q."),
        ("decoder.mid.attn_1.k.", "decoder.mid_block.attentions.0.to_k."),
        ("decoder.mid.attn_1.v.", "decoder.mid_block.attentions.0.to_v."),
        ("decoder.mid.attn_1.proj_out.", "decoder.mid_block.attentions.0.to_out.0."),
        ("decoder.norm_out.", "decoder.conv_norm_out."),
    ]
    for (a, b) in pairs where s.hasPrefix(a) { return b + s.dropFirst(a.count) }
    if s.hasPrefix("decoder.up.") {
        let rest = s.dropFirst("decoder.up.".count)
        guard let dot = rest.firstIndex(of: ".") else { return s }
        let idx = rest[..<dot]
        var tail = String(rest[rest.index(after: dot)...])
        if tail.hasPrefix("block.") { tail = "resnets." + tail.dropFirst("block.".count) }
        if tail.hasPrefix("upsample.conv.") { tail = "upsamplers.0.conv." + tail.dropFirst("upsample.conv.".count) }
        tail = tail.replacingOccurrences(of: ".nin_shortcut.", with: ".conv_shortcut.")
        s = "decoder.up_blocks.ldm\(idx)." + tail
    }
    return s
}

/// Resolves `up_blocks.ldm<i>` (from LDM names) to `up_blocks.<n-1-i>` once the block count is known.
func remapLDMUpBlocks(_ names: [String]) -> [String: String] {
    let marker = TensorNames.VAE.upBlocks + "ldm"
    var maxIdx = -1
    for n in names where n.hasPrefix(marker) {
        if let i = Int(n.dropFirst(marker.count).prefix { $0.isNumber }) { maxIdx = max(maxIdx, i) }
    }
    var out: [String: String] = [:]
    for n in names where n.hasPrefix(marker) {
        let digits = n.dropFirst(marker.count).prefix { $0.isNumber }
        guard let i = Int(digits) else { continue }
        out[n] = TensorNames.VAE.upBlocks + "\(maxIdx - i)" + n.dropFirst(marker.count + digits.count)
    }
    return out
}

/// Natural order: digit runs compare as numbers (`blocks.2` < `blocks.10`).
func naturalLess(_ a: String, _ b: String) -> Bool {
    var i = a.unicodeScalars.makeIterator(), j = b.unicodeScalars.makeIterator()
    var ca = i.next(), cb = j.next()
    while let x = ca, let y = cb {
        if x.properties.numericType != nil, ("0" ... "9").contains(x), ("0" ... "9").contains(y) {
            var na = "", nb = ""
            while let c = ca, ("0" ... "9").contains(c) { na.unicodeScalars.append(c); ca = i.next() }
            while let c = cb, ("0" ... "9").contains(c) { nb.unicodeScalars.append(c); cb = j.next() }
            let va = Int(na) ?? 0, vb = Int(nb) ?? 0
            if va != vb { return va < vb }
            if na.count != nb.count { return na.count < nb.count }
            continue
        }
        if x != y { return x.value < y.value }
        ca = i.next(); cb = j.next()
    }
    return ca == nil && cb != nil
}

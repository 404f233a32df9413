// The tensors a converted file must hold, with their checkpoint shapes and file layouts (docs/gguf-format.md).
import Foundation

/// How a checkpoint tensor becomes a file tensor.
enum TensorLayout: Equatable {
    /// Same values in the same row-major order; only the shape changes (e.g. `[1,1,C]` → `[C]`).
    case reshape
    /// `[O,I,kh,kw]` → `[O,kh,kw,I]` (input channel fastest, for NHWC activations).
    case convToOHWI
    /// Derived: the encoder's positional table resized to the input grid (docs/model.md, 'Encoder').
    case positionalTable
}

/// One required (or optional) file tensor.
struct TensorSpec {
    /// GGUF name.
    let name: String
    /// Expected checkpoint shape (after wrapper stripping; compared with size-1 dims squeezed for `.reshape`).
    let sourceShape: [Int]
    /// File shape (PyTorch order).
    let outputShape: [Int]
    let layout: TensorLayout
    /// Linear/Conv weight: int8 or f16 per `--weights`; otherwise always F32.
    let quantizable: Bool
    /// Written only when present in the checkpoint.
    var optional = false
}

/// Builds the tensor list for `c` read from a checkpoint laid out as `layout`, component by component.
func requiredTensors(_ c: ModelConfig, _ layout: CheckpointLayout) -> [TensorSpec] {
    var out: [TensorSpec] = []
    /// A Linear/Conv weight `[o, ...]` stored as `[o, prod(rest)]` (or OHWI for 3×3 convs).
    func weight(_ n: String, _ src: [Int], _ layout: TensorLayout = .reshape) {
        let dst: [Int]
        switch layout {
        case .convToOHWI: dst = [src[0], src[2], src[3], src[1]]
        default: dst = [src[0], src.dropFirst().reduce(1, *)]
        }
        out.append(TensorSpec(name: n, sourceShape: src, outputShape: dst, layout: layout, quantizable: true))
    }
    func float(_ n: String, _ src: [Int], _ dst: [Int]? = nil, optional: Bool = false) {
        out.append(TensorSpec(name: n, sourceShape: src, outputShape: dst ?? src, layout: .reshape, quantizable: false, optional: optional))
    }
    func linear(_ n: String, _ o: Int, _ i: Int, bias: Bool) {
        weight(n + ".weight", [o, i])
        if bias { float(n + ".bias", [o]) }
    }
    func norm(_ n: String, _ d: Int) { float(n + ".weight", [d]); float(n + ".bias", [d]) }

    // Encoder.
    let C = c.encoder.width, p = c.encoder.patchSize, g = c.encoder.grid
    float("enc.cls_token", [1, 1, C], [C])
    if c.encoder.registers > 0 { float("enc.register_tokens", [1, c.encoder.registers, C], [c.encoder.registers, C]) }
    out.append(TensorSpec(name: "enc.pos_embed", sourceShape: [1, 1 + layout.encPosGrid * layout.encPosGrid, C], outputShape: [1 + g * g, C],
                          layout: .positionalTable, quantizable: false))
    weight("enc.patch_embed.proj.weight", [C, 3, p, p])
    float("enc.patch_embed.proj.bias", [C])
    for b in 0 ..< c.encoder.depth {
        let k = "enc.blocks.\(b)."
        norm(k + "norm1", C)
        linear(k + "attn.qkv", 3 * C, C, bias: true)
        linear(k + "attn.proj", C, C, bias: true)
        float(k + "ls1.gamma", [C])
        norm(k + "norm2", C)
        linear(k + "mlp.fc1", c.encoder.mlpHidden, C, bias: true)
        linear(k + "mlp.fc2", C, c.encoder.mlpHidden, bias: true)
        float(k + "ls2.gamma", [C])
    }
    norm("enc.norm", C)

    // Adapter.
    let A = c.adapter.width
    if layout.adapterNewReg > 0 { float("adapter.new_reg", [1, layout.adapterNewReg, C], [layout.adapterNewReg, C], optional: true) }
    float("adapter.temp_pos_embed", [1, 1, 1, C], [C])
    linear("adapter.backbone.fc", A, C, bias: true)
    norm("adapter.backbone.ln", A)

    // Time conditioning and mapping network.
    let M = c.mapping.width, F = c.mapping.timeFeatures
    float("dec.time_emb.weight", [F, 1], [F])
    linear("dec.time_in_proj", M, 2 * F, bias: false)
    float("dec.mapping.in_norm.scale", [M])
    for b in 0 ..< c.mapping.depth {
        let k = "dec.mapping.blocks.\(b)."
        float(k + "norm.scale", [M])
        linear(k + "up_proj", 2 * c.mapping.hidden, M, bias: false)
        linear(k + "down_proj", M, c.mapping.hidden, bias: false)
    }
    float("dec.mapping.out_norm.scale", [M])

    // Decoder transformer.
    let W = c.decoder.width, pv = c.decoder.patchSize * c.decoder.patchSize * c.decoder.latentChannels
    linear("dec.backbone.mid_merge.pre_proj.proj", W, pv, bias: false)
    linear("dec.backbone.mid_merge.proj", W, W, bias: false)
    for l in 0 ..< c.decoder.depth {
        let k = "dec.backbone.mid_level.\(l)."
        linear(k + "self_attn.norm.linear", W, M, bias: false)
        linear(k + "self_attn.qkv_proj", 3 * W, W, bias: false)
        float(k + "self_attn.scale", [c.decoder.heads])
        float(k + "self_attn.pos_emb.freqs", [2, c.decoder.heads, c.decoder.ropeFreqs])
        linear(k + "self_attn.out_proj", W, W, bias: false)
        linear(k + "ff.norm.linear", W, M, bias: false)
        linear(k + "ff.up_proj", 2 * c.decoder.ffHidden, W, bias: false)
        linear(k + "ff.down_proj", W, c.decoder.ffHidden, bias: false)
    }
    float("dec.backbone.mid_split.post_proj.norm.scale", [W])
    linear("dec.backbone.mid_split.post_proj.proj", pv, W, bias: false)

    // VAE decoder.
    let L = c.decoder.latentChannels
    let rev = Array(c.vae.blockOutChannels.reversed())
    if let top = rev.first, let bottom = c.vae.blockOutChannels.first {
        weight("vae.post_quant_conv.weight", [L, L, 1, 1]); float("vae.post_quant_conv.bias", [L])
        weight("vae.decoder.conv_in.weight", [top, L, 3, 3], .convToOHWI); float("vae.decoder.conv_in.bias", [top])
        func resnet(_ k: String, _ cin: Int, _ cout: Int) {
            norm(k + ".norm1", cin)
            weight(k + ".conv1.weight", [cout, cin, 3, 3], .convToOHWI); float(k + ".conv1.bias", [cout])
            norm(k + ".norm2", cout)
            weight(k + ".conv2.weight", [cout, cout, 3, 3], .convToOHWI); float(k + ".conv2.bias", [cout])
            if cin != cout { weight(k + ".conv_shortcut.weight", [cout, cin, 1, 1]); float(k + ".conv_shortcut.bias", [cout]) }
        }
        resnet("vae.decoder.mid_block.resnets.0", top, top)
        let a = "vae.decoder.mid_block.attentions.0."
        norm(a + "group_norm", top)
        for n in ["to_q", "to_k", "to_v", "to_out.0"] { linear(a + n, top, top, bias: true) }
        resnet("vae.decoder.mid_block.resnets.1", top, top)
        var cin = top
        for (b, cout) in rev.enumerated() {
            for r in 0 ... c.vae.layersPerBlock {
                resnet("vae.decoder.up_blocks.\(b).resnets.\(r)", r == 0 ? cin : cout, cout)
            }
            if b < rev.count - 1 {
                weight("vae.decoder.up_blocks.\(b).upsamplers.0.conv.weight", [cout, cout, 3, 3], .convToOHWI)
                float("vae.decoder.up_blocks.\(b).upsamplers.0.conv.bias", [cout])
            }
            cin = cout
        }
        norm("vae.decoder.conv_norm_out", bottom)
        weight("vae.decoder.conv_out.weight", [3, bottom, 3, 3], .convToOHWI); float("vae.decoder.conv_out.bias", [3])
    }

    // Generator.
    let G = c.generator.channels, D = c.generator.dim, e3 = 3 * c.generator.expansionToken, dh = D * c.generator.expansionChannel
    float("gen.pos_embed", [1, 1, G], [G])
    linear("gen.t_embedder.mlp.0", G, 256, bias: true)
    linear("gen.t_embedder.mlp.2", G, G, bias: true)
    float("gen.label_embedder.embedding_table.weight", [c.generator.numClasses + 1, G])
    linear("gen.mixer.0", D, G, bias: true)
    for i in 1 ... max(c.generator.depth, 1) where c.generator.depth > 0 {
        let k = "gen.mixer.\(i)."
        norm(k + "0.norm", D)
        weight(k + "0.fn.0.weight", [e3, 3, 1]); float(k + "0.fn.0.bias", [e3])
        weight(k + "0.fn.3.weight", [3, e3, 1]); float(k + "0.fn.3.bias", [3])
        norm(k + "1.norm", D)
        linear(k + "1.fn.0", dh, D, bias: true)
        linear(k + "1.fn.3", D, dh, bias: true)
    }
    norm("gen.mixer.\(c.generator.depth + 1)", D)
    linear("gen.mixer.\(c.generator.depth + 2)", G, D, bias: true)
    return out
}

/// Shapes equal after dropping size-1 dimensions (a pure reshape keeps row-major order).
func sameSqueezed(_ a: [Int], _ b: [Int]) -> Bool { a.filter { $0 != 1 } == b.filter { $0 != 1 } }

/// `[O,I,kh,kw]` → `[O,kh,kw,I]`.
func permuteToOHWI(_ w: [Float], _ s: [Int]) -> [Float] {
    let (O, I, H, W) = (s[0], s[1], s[2], s[3])
    var out = [Float](repeating: 0, count: w.count)
    for o in 0 ..< O {
        for i in 0 ..< I {
            for y in 0 ..< H {
                for x in 0 ..< W {
                    out[((o * H + y) * W + x) * I + i] = w[((o * I + i) * H + y) * W + x]
                }
            }
        }
    }
    return out
}

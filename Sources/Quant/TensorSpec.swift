// The tensors a converted file must hold, with their checkpoint shapes and file layouts (docs/gguf-format.md).
import Foundation
import ModelFile

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
/// The names are `TensorNames`'.
func requiredTensors(_ c: ModelConfig, _ layout: CheckpointLayout) -> [TensorSpec] {
    var list = TensorList()
    list.encoder(c, layout)
    list.adapter(c, layout)
    list.timeConditioning(c)
    list.decoder(c)
    list.vae(c)
    list.generator(c)
    return list.out
}

private typealias N = TensorNames

/// The tensor list under construction, one method per component (in file order).
private struct TensorList {
    var out: [TensorSpec] = []

    /// A Linear/Conv weight `[o, ...]` stored as `[o, prod(rest)]` (or OHWI for 3×3 convs).
    mutating func weight(_ n: String, _ src: [Int], _ layout: TensorLayout = .reshape) {
        let dst: [Int]
        switch layout {
        case .convToOHWI: dst = [src[0], src[2], src[3], src[1]]
        default: dst = [src[0], src.dropFirst().reduce(1, *)]
        }
        out.append(TensorSpec(name: n, sourceShape: src, outputShape: dst, layout: layout, quantizable: true))
    }
    /// A tensor kept in float32, reshaped from `src` to `dst` (same order).
    mutating func float(_ n: String, _ src: [Int], _ dst: [Int]? = nil, optional: Bool = false) {
        out.append(TensorSpec(name: n, sourceShape: src, outputShape: dst ?? src, layout: .reshape, quantizable: false, optional: optional))
    }
    mutating func linear(_ l: TensorNames.Layer, _ o: Int, _ i: Int, bias: Bool) {
        weight(l.weight, [o, i])
        if bias { float(l.bias, [o]) }
    }
    mutating func norm(_ l: TensorNames.Layer, _ d: Int) { float(l.weight, [d]); float(l.bias, [d]) }

    /// Encoder (DINOv2).
    mutating func encoder(_ c: ModelConfig, _ layout: CheckpointLayout) {
        let C = c.encoder.width, p = c.encoder.patchSize, g = c.encoder.grid
        float(N.Encoder.clsToken, [1, 1, C], [C])
        if c.encoder.registers > 0 { float(N.Encoder.registerTokens, [1, c.encoder.registers, C], [c.encoder.registers, C]) }
        out.append(TensorSpec(name: N.Encoder.posEmbed, sourceShape: [1, 1 + layout.encPosGrid * layout.encPosGrid, C], outputShape: [1 + g * g, C],
                              layout: .positionalTable, quantizable: false))
        weight(N.Encoder.patchEmbed.weight, [C, 3, p, p])
        float(N.Encoder.patchEmbed.bias, [C])
        for b in 0 ..< c.encoder.depth {
            let k = N.Encoder.block(b)
            norm(k.norm1, C)
            linear(k.qkv, 3 * C, C, bias: true)
            linear(k.proj, C, C, bias: true)
            float(k.ls1, [C])
            norm(k.norm2, C)
            linear(k.fc1, c.encoder.mlpHidden, C, bias: true)
            linear(k.fc2, C, c.encoder.mlpHidden, bias: true)
            float(k.ls2, [C])
        }
        norm(N.Encoder.norm, C)
    }

    /// Adapter.
    mutating func adapter(_ c: ModelConfig, _ layout: CheckpointLayout) {
        let C = c.encoder.width
        let A = c.adapter.width
        if layout.adapterNewReg > 0 { float(N.Adapter.newReg, [1, layout.adapterNewReg, C], [layout.adapterNewReg, C], optional: true) }
        float(N.Adapter.tempPosEmbed, [1, 1, 1, C], [C])
        linear(N.Adapter.fc, A, C, bias: true)
        norm(N.Adapter.ln, A)
    }

    /// Time conditioning and mapping network.
    mutating func timeConditioning(_ c: ModelConfig) {
        let M = c.mapping.width, F = c.mapping.timeFeatures
        float(N.TimeConditioning.timeEmb, [F, 1], [F])
        linear(N.TimeConditioning.timeInProj, M, 2 * F, bias: false)
        float(N.TimeConditioning.inNorm, [M])
        for b in 0 ..< c.mapping.depth {
            let k = N.TimeConditioning.block(b)
            float(k.norm, [M])
            linear(k.up, 2 * c.mapping.hidden, M, bias: false)
            linear(k.down, M, c.mapping.hidden, bias: false)
        }
        float(N.TimeConditioning.outNorm, [M])
    }

    /// Decoder transformer.
    mutating func decoder(_ c: ModelConfig) {
        let M = c.mapping.width
        let W = c.decoder.width, pv = c.decoder.patchSize * c.decoder.patchSize * c.decoder.latentChannels
        linear(N.Decoder.preProj, W, pv, bias: false)
        linear(N.Decoder.mergeProj, W, W, bias: false)
        for l in 0 ..< c.decoder.depth {
            let k = N.Decoder.layer(l)
            linear(k.attnNorm, W, M, bias: false)
            linear(k.qkv, 3 * W, W, bias: false)
            float(k.headScale, [c.decoder.heads])
            float(k.ropeFreqs, [2, c.decoder.heads, c.decoder.ropeFreqs])
            linear(k.outProj, W, W, bias: false)
            linear(k.ffNorm, W, M, bias: false)
            linear(k.up, 2 * c.decoder.ffHidden, W, bias: false)
            linear(k.down, W, c.decoder.ffHidden, bias: false)
        }
        float(N.Decoder.splitNorm, [W])
        linear(N.Decoder.splitProj, pv, W, bias: false)
    }

    /// VAE decoder (3×3 convolutions stored OHWI).
    mutating func vae(_ c: ModelConfig) {
        let L = c.decoder.latentChannels
        let rev = Array(c.vae.blockOutChannels.reversed())
        if let top = rev.first, let bottom = c.vae.blockOutChannels.first {
            weight(N.VAE.postQuantConv.weight, [L, L, 1, 1]); float(N.VAE.postQuantConv.bias, [L])
            weight(N.VAE.convIn.weight, [top, L, 3, 3], .convToOHWI); float(N.VAE.convIn.bias, [top])
            resnet(N.VAE.midResnet(0), top, top)
            let a = N.VAE.midAttention
            norm(a.groupNorm, top)
            for n in [a.toQ, a.toK, a.toV, a.toOut] { linear(n, top, top, bias: true) }
            resnet(N.VAE.midResnet(1), top, top)
            var cin = top
            for (b, cout) in rev.enumerated() {
                let block = N.VAE.upBlock(b)
                for r in 0 ... c.vae.layersPerBlock {
                    resnet(block.resnet(r), r == 0 ? cin : cout, cout)
                }
                if b < rev.count - 1 {
                    weight(block.upsampler.weight, [cout, cout, 3, 3], .convToOHWI)
                    float(block.upsampler.bias, [cout])
                }
                cin = cout
            }
            norm(N.VAE.convNormOut, bottom)
            weight(N.VAE.convOut.weight, [3, bottom, 3, 3], .convToOHWI); float(N.VAE.convOut.bias, [3])
        }
    }

    /// One VAE resnet block from `cin` to `cout` channels (a 1×1 shortcut when they differ).
    mutating func resnet(_ k: TensorNames.VAE.Resnet, _ cin: Int, _ cout: Int) {
        norm(k.norm1, cin)
        weight(k.conv1.weight, [cout, cin, 3, 3], .convToOHWI); float(k.conv1.bias, [cout])
        norm(k.norm2, cout)
        weight(k.conv2.weight, [cout, cout, 3, 3], .convToOHWI); float(k.conv2.bias, [cout])
        if cin != cout { weight(k.convShortcut.weight, [cout, cin, 1, 1]); float(k.convShortcut.bias, [cout]) }
    }

    /// Generator.
    mutating func generator(_ c: ModelConfig) {
        let G = c.generator.channels, D = c.generator.dim, e3 = 3 * c.generator.expansionToken, dh = D * c.generator.expansionChannel
        float(N.Generator.posEmbed, [1, 1, G], [G])
        linear(N.Generator.timeFc1, G, 256, bias: true)
        linear(N.Generator.timeFc2, G, G, bias: true)
        float(N.Generator.labelTable, [c.generator.numClasses + 1, G])
        linear(N.Generator.inProj, D, G, bias: true)
        for i in 1 ... max(c.generator.depth, 1) where c.generator.depth > 0 {
            let k = N.Generator.layer(i)
            norm(k.tokenNorm, D)
            weight(k.tokenFc1.weight, [e3, 3, 1]); float(k.tokenFc1.bias, [e3])
            weight(k.tokenFc2.weight, [3, e3, 1]); float(k.tokenFc2.bias, [3])
            norm(k.channelNorm, D)
            linear(k.channelFc1, dh, D, bias: true)
            linear(k.channelFc2, D, dh, bias: true)
        }
        norm(N.Generator.outNorm(depth: c.generator.depth), D)
        linear(N.Generator.outProj(depth: c.generator.depth), G, D, bias: true)
    }
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

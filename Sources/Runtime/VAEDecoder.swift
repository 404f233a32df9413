// SD-VAE decoder (docs/model.md, 'VAE decoder'): latent [Cl, h, w] → image [3, S, S] in ≈[-1, 1]. NHWC activations.
import Foundation
import Kernels
import ModelFile

/// diffusers `AutoencoderKL` decoder. Weights named by `TensorNames.VAE`; 3×3 conv weights are `[O, 3, 3, I]`
/// (input channel fastest, matching NHWC activations), 1×1 convs `[O, I]`.
final class VAEDecoder {
    /// GroupNorm affine parameters.
    struct Norm {
        let weight, bias: UnsafePointer<Float>     // [C]
    }
    /// `h = conv1(silu(norm1(x))); h = conv2(silu(norm2(h))); out = shortcut(x) + h`.
    struct Resnet {
        let cin, cout: Int
        let norm1: Norm                            // [cin]
        let conv1: Linear                          // [cout, 3·3·cin] + bias
        let norm2: Norm                            // [cout]
        let conv2: Linear                          // [cout, 3·3·cout] + bias
        let shortcut: Linear?                      // [cout, cin] + bias, only when cin ≠ cout
    }
    /// Single-head self-attention over all pixels, with residual.
    struct Attention {
        let norm: Norm                             // [C]
        let q, k, v, o: Linear                     // [C, C] + bias each
    }
    /// An up block: resnets, then (except the last block) nearest 2× + 3×3 conv.
    struct UpBlock {
        let resnets: [Resnet]
        let upsample: Linear?                      // [C, 3·3·C] + bias
    }

    let cfg: ModelConfig.VAE
    let latentChannels, latentH, latentW: Int
    let mode: MatrixMode
    let ctx: ComputeContext

    let postQuant: Linear                          // [Cl, Cl] + bias
    let convIn: Linear                             // [C0, 3·3·Cl] + bias, C0 = last block channels
    let mid1: Resnet
    let midAttn: Attention
    let mid2: Resnet
    let upBlocks: [UpBlock]
    let normOut: Norm                              // [C_last]
    let convOut: Linear                            // [3, 3·3·C_last] + bias

    /// Largest activation (pixels × channels) of any stage; every big buffer has this size.
    let maxActivation: Int
    // Scratch, allocated at first use (the pipeline can drop it in low-memory mode).
    private var big: [FloatBuffer] = []            // 3 × [maxActivation]: current x, normed n, conv output h
    private var attnBuffers: [FloatBuffer] = []    // 4 × [h·w, C0]: q, k, v, attention output

    init(loader: WeightLoader, config: ModelConfig, mode: MatrixMode, ctx: ComputeContext) throws {
        let v = config.vae
        cfg = v
        latentChannels = config.decoder.latentChannels
        latentH = config.decoder.latentH
        latentW = config.decoder.latentW
        self.mode = mode
        self.ctx = ctx
        let cl = latentChannels
        let chans = Array(v.blockOutChannels.reversed())          // up-block output channels
        let c0 = chans[0]

        typealias N = TensorNames.VAE
        func norm(_ names: TensorNames.Layer, _ c: Int) throws -> Norm {
            Norm(weight: try loader.floats(names.weight, [c]), bias: try loader.floats(names.bias, [c]))
        }
        func resnet(_ names: N.Resnet, _ cin: Int, _ cout: Int) throws -> Resnet {
            Resnet(cin: cin, cout: cout,
                   norm1: try norm(names.norm1, cin), conv1: try loader.linear(names.conv1, [cout, 3, 3, cin], bias: true),
                   norm2: try norm(names.norm2, cout), conv2: try loader.linear(names.conv2, [cout, 3, 3, cout], bias: true),
                   shortcut: cin != cout ? try loader.linear(names.convShortcut, [cout, cin], bias: true) : nil)
        }

        postQuant = try loader.linear(N.postQuantConv, [cl, cl], bias: true)
        convIn = try loader.linear(N.convIn, [c0, 3, 3, cl], bias: true)
        mid1 = try resnet(N.midResnet(0), c0, c0)
        let a = N.midAttention
        midAttn = Attention(norm: try norm(a.groupNorm, c0),
                            q: try loader.linear(a.toQ, [c0, c0], bias: true),
                            k: try loader.linear(a.toK, [c0, c0], bias: true),
                            v: try loader.linear(a.toV, [c0, c0], bias: true),
                            o: try loader.linear(a.toOut, [c0, c0], bias: true))
        mid2 = try resnet(N.midResnet(1), c0, c0)

        var blocks: [UpBlock] = []
        var cin = c0
        var side = latentH * latentW                              // pixels at the current resolution
        var largest = side * max(c0, cl)
        for (b, cout) in chans.enumerated() {
            var resnets: [Resnet] = []
            for r in 0 ..< v.layersPerBlock + 1 {
                resnets.append(try resnet(N.upBlock(b).resnet(r), r == 0 ? cin : cout, cout))
            }
            largest = max(largest, side * max(cin, cout))
            var up: Linear? = nil
            if b < chans.count - 1 {
                up = try loader.linear(N.upBlock(b).upsampler, [cout, 3, 3, cout], bias: true)
                side *= 4
                largest = max(largest, side * cout)
            }
            blocks.append(UpBlock(resnets: resnets, upsample: up))
            cin = cout
        }
        upBlocks = blocks
        normOut = try norm(N.convNormOut, cin)
        convOut = try loader.linear(N.convOut, [3, 3, 3, cin], bias: true)
        maxActivation = max(largest, side * 3)
    }

    /// Frees the scratch buffers (they are re-allocated on the next `decode`).
    func dropScratch() {
        big = []
        attnBuffers = []
    }

    /// latent `z` [Cl, h, w] → image written to `out` [3, S, S] (planar, ≈[-1, 1]).
    func decode(latent z: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        if big.isEmpty {
            big = (0 ..< 3).map { _ in FloatBuffer(maxActivation) }
            let c0 = cfg.blockOutChannels.last ?? 0   // never empty: ModelConfig checks it
            attnBuffers = (0 ..< 4).map { _ in FloatBuffer(latentH * latentW * c0) }
        }
        var x = big[0].p, n = big[1].p, h = big[2].p          // NHWC [pixels, channels] views
        var height = latentH, width = latentW
        let cl = latentChannels

        // 1. z / scaling_factor + shift_factor, planar → NHWC                  n: [h·w, Cl]
        let pixels = height * width
        for i in 0 ..< pixels {
            for c in 0 ..< cl { n[i * cl + c] = z[c * pixels + i] / cfg.scalingFactor + cfg.shiftFactor }
        }
        // 2. post_quant_conv (1×1)                                              x: [h·w, Cl]
        matmul(n, lda: cl, m: pixels, postQuant.weight, bias: postQuant.bias, into: x, ldc: cl, mode: mode, ctx: ctx)
        // 3. conv_in (3×3)                                                      x: [h·w, C0]
        conv3x3(x, height: height, width: width, inChannels: cl, convIn.weight, bias: convIn.bias, out: h, mode: mode, ctx: ctx)
        swap(&x, &h)

        // 4. Mid block: resnet, attention, resnet.
        resnet(mid1, x: &x, n: n, h: &h, height: height, width: width)
        midAttention(midAttn, x: x, n: n, pixels: height * width)
        resnet(mid2, x: &x, n: n, h: &h, height: height, width: width)

        // 5. Up blocks: resnets, then nearest 2× + conv (all but the last).
        for block in upBlocks {
            for r in block.resnets { resnet(r, x: &x, n: n, h: &h, height: height, width: width) }
            if let up = block.upsample {
                let c = up.n
                upsampleNearest2x(x, height: height, width: width, channels: c, out: n)  // n: [(2h)(2w), C]
                height *= 2
                width *= 2
                conv3x3(n, height: height, width: width, inChannels: c, up.weight, bias: up.bias, out: h, mode: mode, ctx: ctx)
                swap(&x, &h)
            }
        }

        // 6. conv_norm_out + SiLU, conv_out (3×3 → 3 channels)                  h: [S², 3]
        let c = convOut.k / 9
        let px = height * width
        groupNorm(x, pixels: px, channels: c, groups: cfg.normGroups, weight: normOut.weight, bias: normOut.bias,
                  eps: cfg.normEps, silu: true, out: n, ctx: ctx)
        conv3x3(n, height: height, width: width, inChannels: c, convOut.weight, bias: convOut.bias, out: h, mode: mode, ctx: ctx)
        // 7. NHWC → planar [3, S, S]
        for i in 0 ..< px {
            for ch in 0 ..< 3 { out[ch * px + i] = h[i * 3 + ch] }
        }
    }

    /// One resnet on `x` [h·w, cin]; result left in `x` [h·w, cout] (buffers x and h are swapped).
    private func resnet(_ r: Resnet, x: inout UnsafeMutablePointer<Float>, n: UnsafeMutablePointer<Float>,
                        h: inout UnsafeMutablePointer<Float>, height: Int, width: Int) {
        let px = height * width, g = cfg.normGroups
        // n = silu(GN1(x))                                                      [px, cin]
        groupNorm(x, pixels: px, channels: r.cin, groups: g, weight: r.norm1.weight, bias: r.norm1.bias,
                  eps: cfg.normEps, silu: true, out: n, ctx: ctx)
        // h = conv1(n)                                                          [px, cout]
        conv3x3(n, height: height, width: width, inChannels: r.cin, r.conv1.weight, bias: r.conv1.bias, out: h, mode: mode, ctx: ctx)
        // n = silu(GN2(h))                                                      [px, cout]
        groupNorm(h, pixels: px, channels: r.cout, groups: g, weight: r.norm2.weight, bias: r.norm2.bias,
                  eps: cfg.normEps, silu: true, out: n, ctx: ctx)
        // h = conv2(n)                                                          [px, cout]
        conv3x3(n, height: height, width: width, inChannels: r.cout, r.conv2.weight, bias: r.conv2.bias, out: h, mode: mode, ctx: ctx)
        // h += shortcut(x)  (1×1 conv when the channel count changes, else identity)
        if let s = r.shortcut {
            matmul(x, lda: r.cin, m: px, s.weight, bias: s.bias, accumulate: true, into: h, ldc: r.cout, mode: mode, ctx: ctx)
        } else {
            add(h, x, count: px * r.cout, out: h)
        }
        swap(&x, &h)
    }

    /// x += to_out(softmax(q kᵀ/√C) v) with q, k, v from GroupNorm(x); single head over all pixels.
    private func midAttention(_ a: Attention, x: UnsafeMutablePointer<Float>, n: UnsafeMutablePointer<Float>, pixels: Int) {
        let c = a.q.n
        let q = attnBuffers[0].p, k = attnBuffers[1].p, v = attnBuffers[2].p, o = attnBuffers[3].p   // [px, C] each
        // n = GN(x)
        groupNorm(x, pixels: pixels, channels: c, groups: cfg.normGroups, weight: a.norm.weight, bias: a.norm.bias,
                  eps: cfg.normEps, silu: false, out: n, ctx: ctx)
        // q, k, v = n Wᵀ + b
        matmul(n, lda: c, m: pixels, a.q.weight, bias: a.q.bias, into: q, ldc: c, mode: mode, ctx: ctx)
        matmul(n, lda: c, m: pixels, a.k.weight, bias: a.k.bias, into: k, ldc: c, mode: mode, ctx: ctx)
        matmul(n, lda: c, m: pixels, a.v.weight, bias: a.v.bias, into: v, ldc: c, mode: mode, ctx: ctx)
        // o = softmax(q kᵀ / √C) v
        attention(q: q, qStride: c, k: k, kStride: c, v: v, vStride: c, out: o, outStride: c,
                  tokens: pixels, heads: 1, headDim: c, scale: 1 / Float(c).squareRoot(), ctx: ctx)
        // x += o Woᵀ + b
        matmul(o, lda: c, m: pixels, a.o.weight, bias: a.o.bias, accumulate: true, into: x, ldc: c, mode: mode, ctx: ctx)
    }
}

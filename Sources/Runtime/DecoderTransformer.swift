// Decoder transformer (docs/model.md, 'Decoder transformer'): one velocity evaluation v(z, t) over the SD-VAE latent.
import Foundation
import ModelFile
import Kernels

/// The flow-matching transformer of the decoder. Weights named by `TensorNames.Decoder` (under `dec.backbone.`).
///
/// Sequence: row 0 is the conditioning token c (position (0, 0)), rows 1…N the latent's p×p
/// patches row by row (position = mean of the patch's cells on the [-1, 1] canvas).
final class DecoderTransformer {
    struct Layer {
        let attnNorm: Linear                       // [W, M], no bias: AdaRMSNorm scale = 1 + L(cond)
        let qkv: Linear                            // [3W, W], no bias; output [q | k | v], heads of d
        let headScale: UnsafePointer<Float>        // [heads] cosine-attention temperature
        let outProj: Linear                        // [W, W], no bias
        let ffNorm: Linear                         // [W, M], no bias
        let up: Linear                             // [2·Hf, W], no bias; output [a | g]
        let down: Linear                           // [W, Hf], no bias
        let ropeCos, ropeSin: UnsafePointer<Float> // [T, heads, A] (A = 2·ropeFreqs angles), from pos_emb.freqs
    }

    let cfg: ModelConfig.Decoder
    let condWidth: Int                             // M
    let mode: MatrixMode
    let ctx: ComputeContext

    let preProj: Linear                            // [W, p·p·Cl], no bias (mid_merge.pre_proj.proj)
    let mergeProj: Linear                          // [W, W], no bias (mid_merge.proj)
    let layers: [Layer]
    let splitNorm: UnsafePointer<Float>            // [W] RMSNorm scale (mid_split.post_proj.norm)
    let splitProj: Linear                          // [p·p·Cl, W], no bias (mid_split.post_proj.proj)

    /// The 257-row products (all but the AdaRMSNorm projections), packed at the first W8A8
    /// velocity after load or after `releaseRepacked()`: int8 weights into the level's panels,
    /// int4 weights into strips (`RepackedWeights.Kind.manyRows`).
    private let repacked: RepackedWeights

    // RoPE tables, computed once (shared between layers whose freqs are equal).
    private var ropeTables: [FloatBuffer] = []     // each [T, heads, A]
    // Scratch, allocated once (T tokens, N = T − 1 patches).
    let patches: FloatBuffer                       // [N, p·p·Cl] merged patches, then split outputs
    let x: FloatBuffer                             // [T, W] residual stream
    let n: FloatBuffer                             // [T, W] normed stream / pre-merge sequence
    let qkv: FloatBuffer                           // [T, 3W]
    let attn: FloatBuffer                          // [T, W]
    let ff: FloatBuffer                            // [T, 2·Hf]
    let act: FloatBuffer                           // [T, Hf]
    let ada: FloatBuffer                           // [W] 1 + L(cond) of the current norm

    init(loader: WeightLoader, config: ModelConfig, mode: MatrixMode, ctx: ComputeContext) throws {
        let d = config.decoder
        cfg = d
        condWidth = config.mapping.width
        self.mode = mode
        self.ctx = ctx
        let w = d.width, m = config.mapping.width, pv = d.patchValues, fr = d.ropeFreqs, t = d.tokens
        typealias N = TensorNames.Decoder
        preProj = try loader.linear(N.preProj, [w, pv], bias: false)
        mergeProj = try loader.linear(N.mergeProj, [w, w], bias: false)
        splitNorm = try loader.floats(N.splitNorm, [w])
        splitProj = try loader.linear(N.splitProj, [pv, w], bias: false)

        // Token positions (y, x) on the [-1, 1] canvas: cell i of L sits at −1 + (2i+1)/L; a patch
        // at the mean of its cells = −1 + p(2·pi + 1)/L. Row 0 (the condition) sits at (0, 0).
        let gh = d.latentH / d.patchSize, gw = d.latentW / d.patchSize
        var posY = [Double](repeating: 0, count: t), posX = [Double](repeating: 0, count: t)
        for pi in 0 ..< gh {
            for pj in 0 ..< gw {
                posY[1 + pi * gw + pj] = -1 + Double(d.patchSize * (2 * pi + 1)) / Double(d.latentH)
                posX[1 + pi * gw + pj] = -1 + Double(d.patchSize * (2 * pj + 1)) / Double(d.latentW)
            }
        }

        var tables: [FloatBuffer] = []
        var lastFreqs: [Float] = []
        var built: [Layer] = []
        for i in 0 ..< d.depth {
            let b = N.layer(i)
            // θ[row, h] = [y·F[0,h,0..<fr] | x·F[1,h,0..<fr]]; cos/sin tables [T, heads, 2fr] + [same].
            let freqsPtr = try loader.floats(b.ropeFreqs, [2, d.heads, fr])
            let freqs = Array(UnsafeBufferPointer(start: freqsPtr, count: 2 * d.heads * fr))
            if freqs != lastFreqs {
                let a = 2 * fr
                let table = FloatBuffer(2 * t * d.heads * a)        // cos then sin
                for row in 0 ..< t {
                    for h in 0 ..< d.heads {
                        for j in 0 ..< fr {
                            let thetaY = Float(posY[row]) * freqs[h * fr + j]
                            let thetaX = Float(posX[row]) * freqs[d.heads * fr + h * fr + j]
                            let o = (row * d.heads + h) * a
                            table.p[o + j] = cos(thetaY)
                            table.p[o + fr + j] = cos(thetaX)
                            table.p[t * d.heads * a + o + j] = sin(thetaY)
                            table.p[t * d.heads * a + o + fr + j] = sin(thetaX)
                        }
                    }
                }
                tables.append(table)
                lastFreqs = freqs
            }
            let table = tables[tables.count - 1]
            built.append(Layer(attnNorm: try loader.linear(b.attnNorm, [w, m], bias: false),
                               qkv: try loader.linear(b.qkv, [3 * w, w], bias: false),
                               headScale: try loader.floats(b.headScale, [d.heads]),
                               outProj: try loader.linear(b.outProj, [w, w], bias: false),
                               ffNorm: try loader.linear(b.ffNorm, [w, m], bias: false),
                               up: try loader.linear(b.up, [2 * d.ffHidden, w], bias: false),
                               down: try loader.linear(b.down, [w, d.ffHidden], bias: false),
                               ropeCos: UnsafePointer(table.p), ropeSin: UnsafePointer(table.p + t * d.heads * 2 * fr)))
        }
        layers = built
        ropeTables = tables
        repacked = RepackedWeights(.manyRows, candidates: [preProj, mergeProj, splitProj] + built.flatMap { [$0.qkv, $0.outProj, $0.up, $0.down] },
                                   file: loader.file)

        patches = FloatBuffer((t - 1) * pv)
        x = FloatBuffer(t * w)
        n = FloatBuffer(t * w)
        qkv = FloatBuffer(t * 3 * w)
        attn = FloatBuffer(t * w)
        ff = FloatBuffer(t * 2 * d.ffHidden)
        act = FloatBuffer(t * d.ffHidden)
        ada = FloatBuffer(w)
    }

    /// Frees the packed panels (rebuilt from the file at the next velocity).
    func releaseRepacked() { repacked.release() }

    /// Products that currently read repacked weights.
    var repackedCount: Int { repacked.count }

    /// AdaRMSNorm: out = x · (1 + L(cond)) · (mean(x²) + ε)^−½ over all T rows (ε = `rmsEps`, 1e-6).
    private func adaNorm(_ l: Linear, cond: UnsafePointer<Float>, input: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let w = cfg.width
        // ada = L(cond) + 1                                                 [W]
        matmul(cond, lda: condWidth, m: 1, l.weight, bias: nil, into: ada.p, ldc: w, mode: mode, ctx: ctx)
        for j in 0 ..< w { ada.p[j] += 1 }
        rmsNorm(input, rows: cfg.tokens, dim: w, scale: ada.p, eps: cfg.rmsEps, out: out, ctx: ctx)
    }

    /// v(z, t): latent `z` [Cl, H, W], `cond` [M] (= cond(t), docs/model.md, 'Time conditioning'), `c` [W] (adapter output)
    /// → velocity written to `out` [Cl, H, W]. `out` may not alias `z`.
    func velocity(z: UnsafePointer<Float>, cond: UnsafePointer<Float>, c: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let d = cfg
        let w = d.width, t = d.tokens, p = d.patchSize, cl = d.latentChannels, pv = d.patchValues
        let lh = d.latentH, lw = d.latentW, gw = lw / p, hf = d.ffHidden
        let heads = d.heads, hd = d.headDim, angles = 2 * d.ropeFreqs
        repacked.build(mode: mode, ctx: ctx)
        let weight = repacked.weight   // a product's copy when it has one

        // 1. Merge: patch (pi, pj) → 16 values ordered (dy, dx, channel), channel fastest.   [N, pv]
        for pi in 0 ..< lh / p {
            for pj in 0 ..< gw {
                let dst = patches.p + (pi * gw + pj) * pv
                for dy in 0 ..< p {
                    for dx in 0 ..< p {
                        for ch in 0 ..< cl {
                            dst[(dy * p + dx) * cl + ch] = z[ch * lh * lw + (pi * p + dy) * lw + pj * p + dx]
                        }
                    }
                }
            }
        }
        // 2. Sequence before the merge projection: n = [c, patches · pre_projᵀ]               [T, W]
        n.p.update(from: c, count: w)
        matmul(patches.p, lda: pv, m: t - 1, weight(preProj), bias: nil, into: n.p + w, ldc: w, mode: mode, ctx: ctx)
        // 3. x = mid_merge.proj(n), every row including c                                      [T, W]
        matmul(n.p, lda: w, m: t, weight(mergeProj), bias: nil, into: x.p, ldc: w, mode: mode, ctx: ctx)

        // 4. Layers.
        for l in layers {
            // 4a. n = AdaRMSNorm_attn(x)
            adaNorm(l.attnNorm, cond: cond, input: x.p, out: n.p)
            // 4b. [q | k | v] = n Wqkvᵀ                                                       [T, 3W]
            matmul(n.p, lda: w, m: t, weight(l.qkv), bias: nil, into: qkv.p, ldc: 3 * w, mode: mode, ctx: ctx)
            // 4c. Cosine-similarity scaling of q and k per head: · √scale_h / √(Σ² + ε), ε = qkEps (1e-6);
            // 4d. then axial RoPE on the first 2A dims of every q and k head (one pass)
            cosineScaleRopeQK(qkv.p, kOffset: w, rows: t, stride: 3 * w, heads: heads, headDim: hd, scales: l.headScale,
                              eps: cfg.qkEps, angles: angles, cos: l.ropeCos, sin: l.ropeSin, ctx: ctx)
            // 4e. softmax(q kᵀ) v with scale 1                                                 [T, W]
            attention(q: qkv.p, qStride: 3 * w, k: qkv.p + w, kStride: 3 * w, v: qkv.p + 2 * w, vStride: 3 * w,
                      out: attn.p, outStride: w, tokens: t, heads: heads, headDim: hd, scale: 1, ctx: ctx)
            // 4f. x += attn Woutᵀ
            matmul(attn.p, lda: w, m: t, weight(l.outProj), bias: nil, accumulate: true, into: x.p, ldc: w, mode: mode, ctx: ctx)
            // 4g. n = AdaRMSNorm_ff(x)
            adaNorm(l.ffNorm, cond: cond, input: x.p, out: n.p)
            // 4h. [a | g] = n Wupᵀ                                                            [T, 2Hf]
            matmul(n.p, lda: w, m: t, weight(l.up), bias: nil, into: ff.p, ldc: 2 * hf, mode: mode, ctx: ctx)
            // 4i. act = a · silu(g)                                                           [T, Hf]
            swiglu(ff.p, rows: t, hidden: hf, out: act.p, ctx: ctx)
            // 4j. x += act Wdownᵀ
            matmul(act.p, lda: hf, m: t, weight(l.down), bias: nil, accumulate: true, into: x.p, ldc: w, mode: mode, ctx: ctx)
        }

        // 5. Split: drop row 0, RMSNorm with scale, project to p·p·Cl per patch.            [N, pv]
        rmsNorm(x.p + w, rows: t - 1, dim: w, scale: splitNorm, eps: cfg.rmsEps, out: n.p, ctx: ctx)
        matmul(n.p, lda: w, m: t - 1, weight(splitProj), bias: nil, into: patches.p, ldc: pv, mode: mode, ctx: ctx)
        // 6. Unpatch: values (dy, dx, channel) back into the latent grid.                   [Cl, H, W]
        for pi in 0 ..< lh / p {
            for pj in 0 ..< gw {
                let src = patches.p + (pi * gw + pj) * pv
                for dy in 0 ..< p {
                    for dx in 0 ..< p {
                        for ch in 0 ..< cl {
                            out[ch * lh * lw + (pi * p + dy) * lw + pj * p + dx] = src[(dy * p + dx) * cl + ch]
                        }
                    }
                }
            }
        }
    }
}

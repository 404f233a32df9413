// Generator (docs/model.md, 'Generator'): class-conditional MLP-Mixer flow model in token space.
import Formats
import Foundation
import Kernels
import ModelFile

/// `MLPMixer1D` with one token: the sequence is three rows `[x + pos, label embedding, time
/// embedding]`. Weights named by `TensorNames.Generator` (EMA copy, chosen by the converter).
///
/// A call evaluates one or two samples at once: the guided velocity runs the conditional and the
/// unconditional pass as one batch of two, so every weight is read once per step.
final class Generator {
    /// One mixer layer: token mixing over the 3 rows, then channel mixing.
    struct Layer {
        let tokenNormW, tokenNormB: UnsafePointer<Float>    // [D], eps cfg.lnEps
        let tokenFc1: SmallDense                            // [3e, 3] + bias (Conv1d k=1 over rows)
        let tokenFc2: SmallDense                            // [3, 3e] + bias
        let channelNormW, channelNormB: UnsafePointer<Float> // [D], eps cfg.lnEps
        let channelFc1: Linear                              // [D·e′, D] + bias
        let channelFc2: Linear                              // [D, D·e′] + bias
    }

    /// Samples per call: the conditional and the unconditional pass.
    static let maxBatch = 2
    /// Rows per sample: noise token, label, time.
    static let rows = 3

    let cfg: ModelConfig.Generator
    let mode: MatrixMode
    let ctx: ComputeContext
    /// Frequencies of the sinusoidal time embedding (half of `t_embedder.mlp.0`'s input, 128).
    let timeHalf: Int

    let posEmbed: UnsafePointer<Float>             // [C]
    let labelTable: UnsafePointer<Float>           // [K + 1, C]; row K = unconditional
    let timeFc1: Linear                            // [C, 2·half] + bias
    let timeFc2: Linear                            // [C, C] + bias
    let inProj: Linear                             // [D, C] + bias (mixer.0)
    let layers: [Layer]                            // mixer.1 … mixer.L
    let outNormW, outNormB: UnsafePointer<Float>   // [D] (mixer.L+1), eps 1e-5
    let outProj: Linear                            // [C, D] + bias (mixer.L+2)

    /// The products that stream the most weights at few rows (input and output projections,
    /// channel mixing), repacked into strips for W4A8 at the first step after load or after
    /// `releaseRepacked()` (int4 weights on a level with a strip kernel only).
    private let repacked: RepackedWeights

    // Scratch for maxBatch samples (B·3 rows).
    let timeFeatures: FloatBuffer                  // [2·half] = [cos | sin]
    let timeHidden: FloatBuffer                    // [C]
    let seq: FloatBuffer                           // [B·3, C] input rows
    let x: FloatBuffer                             // [B·3, D] residual stream
    let n: FloatBuffer                             // [B·3, D] normed
    let channelHidden: FloatBuffer                 // [B·3, D·e′]
    let head: FloatBuffer                          // [B, D] normed row 0 of each sample
    let v: FloatBuffer                             // [B, C] velocities

    init(loader: WeightLoader, config: ModelConfig, mode: MatrixMode, ctx: ComputeContext) throws {
        let g = config.generator
        cfg = g
        self.mode = mode
        self.ctx = ctx
        let c = g.channels, d = g.dim, k = g.numClasses, e3 = Generator.rows * g.expansionToken, dh = d * g.expansionChannel
        let b = Generator.maxBatch, r = Generator.rows
        let tIn = Generator.timeFeatures(in: loader.file)
        guard tIn >= 2, tIn % 2 == 0 else {
            throw RuntimeError.tensorShape(path: loader.file.path, name: TensorNames.Generator.timeFc1.weight, expected: [c, 256], actual: [c, tIn])
        }
        timeHalf = tIn / 2

        typealias N = TensorNames.Generator
        posEmbed = try loader.floats(N.posEmbed, [c])
        labelTable = try loader.floats(N.labelTable, [k + 1, c])
        timeFc1 = try loader.linear(N.timeFc1, [c, tIn], bias: true)
        timeFc2 = try loader.linear(N.timeFc2, [c, c], bias: true)
        inProj = try loader.linear(N.inProj, [d, c], bias: true)
        layers = try (1 ... g.depth).map { i in
            let p = N.layer(i)
            let fc1 = try loader.linear(p.tokenFc1, [e3, r], bias: true), fc2 = try loader.linear(p.tokenFc2, [r, e3], bias: true)
            return Layer(tokenNormW: try loader.floats(p.tokenNorm.weight, [d]), tokenNormB: try loader.floats(p.tokenNorm.bias, [d]),
                         tokenFc1: SmallDense(fc1.weight, bias: fc1.bias),
                         tokenFc2: SmallDense(fc2.weight, bias: fc2.bias),
                         channelNormW: try loader.floats(p.channelNorm.weight, [d]), channelNormB: try loader.floats(p.channelNorm.bias, [d]),
                         channelFc1: try loader.linear(p.channelFc1, [dh, d], bias: true),
                         channelFc2: try loader.linear(p.channelFc2, [d, dh], bias: true))
        }
        outNormW = try loader.floats(N.outNorm(depth: g.depth).weight, [d])
        outNormB = try loader.floats(N.outNorm(depth: g.depth).bias, [d])
        outProj = try loader.linear(N.outProj(depth: g.depth), [c, d], bias: true)
        repacked = RepackedWeights(.fewRows, candidates: [inProj, outProj] + layers.flatMap { [$0.channelFc1, $0.channelFc2] },
                                   file: loader.file)

        timeFeatures = FloatBuffer(tIn)
        timeHidden = FloatBuffer(c)
        seq = FloatBuffer(b * r * c)
        x = FloatBuffer(b * r * d)
        n = FloatBuffer(b * r * d)
        channelHidden = FloatBuffer(b * r * dh)
        head = FloatBuffer(b * d)
        v = FloatBuffer(b * c)
    }

    /// The time embedding's input width: the last dimension of `gen.t_embedder.mlp.0.weight` in the
    /// file (256 in DiT-style embedders; 256 also when the tensor is absent, which the loader reports).
    static func timeFeatures(in file: GGUFFile) -> Int {
        file.tensorInfos[TensorNames.Generator.timeFc1.weight]?.shape.last ?? 256
    }

    /// Velocity at token `x` [C], time t ∈ [0, 1], for class `label` (0 ..< K, or K for the
    /// unconditional row). With `guidance` s: `v = v_u + s·(v_c − v_u)`; without: `v = v_c`.
    /// Result written to `out` [C]. `out` may alias `x`.
    func velocity(x token: UnsafePointer<Float>, t: Float, label: Int, guidance: Float?, out: UnsafeMutablePointer<Float>) {
        let c = cfg.channels
        // 1. Batch: sample 0 conditional, sample 1 unconditional (label K) when guided.
        let batch = guidance == nil ? 1 : 2
        forward(token: token, t: t, labels: (label, cfg.numClasses), batch: batch)
        // 2. v = v_c, or v_u + s (v_c − v_u)
        if let s = guidance {
            for j in 0 ..< c { out[j] = v.p[c + j] + s * (v.p[j] - v.p[c + j]) }
        } else {
            out.update(from: v.p, count: c)
        }
    }

    /// Frees the strips (rebuilt from the file at the next step).
    func releaseRepacked() { repacked.release() }

    /// Products that currently read repacked weights.
    var repackedCount: Int { repacked.count }

    /// The mixer on `batch` samples sharing token `token` and time `t`, labels `labels.0`
    /// (and `labels.1`); velocities left in `v` [batch, C].
    private func forward(token: UnsafePointer<Float>, t: Float, labels: (Int, Int), batch: Int) {
        let c = cfg.channels, d = cfg.dim, r = Generator.rows, dh = d * cfg.expansionChannel
        let half = timeHalf, rowsTotal = batch * r
        repacked.build(mode: mode, ctx: ctx)
        let weight = repacked.weight   // a product's strips when it has them

        // 1. Time embedding: [cos(t·f_k) | sin(t·f_k)], f_k = exp(−ln(10⁴)·k/half); then
        //    mlp.2(silu(mlp.0(·)))                                                      [C]
        for i in 0 ..< half {
            let f = exp(-log(Float(10000)) * Float(i) / Float(half))
            timeFeatures.p[i] = cos(t * f)
            timeFeatures.p[half + i] = sin(t * f)
        }
        matmul(timeFeatures.p, lda: 2 * half, m: 1, timeFc1.weight, bias: timeFc1.bias, activation: .silu,
               into: timeHidden.p, ldc: c, mode: mode, ctx: ctx)
        // 2. Input rows per sample: [x + pos, label_table[y], temb]                        [B·3, C]
        for s in 0 ..< batch {
            let row = seq.p + s * r * c
            add(token, posEmbed, count: c, out: row)
            row.advanced(by: c).update(from: labelTable + (s == 0 ? labels.0 : labels.1) * c, count: c)
        }
        matmul(timeHidden.p, lda: c, m: 1, timeFc2.weight, bias: timeFc2.bias, into: seq.p + 2 * c, ldc: c, mode: mode, ctx: ctx)
        for s in 1 ..< batch { (seq.p + (s * r + 2) * c).update(from: seq.p + 2 * c, count: c) }
        // 3. x = mixer.0(seq)                                                              [B·3, D]
        matmul(seq.p, lda: c, m: rowsTotal, weight(inProj), bias: inProj.bias, into: x.p, ldc: d, mode: mode, ctx: ctx)

        // 4. Mixer layers.
        for l in layers {
            // 4a. Token mixing, per sample and column j over the 3 rows of n = LN(x):
            //     x[·, j] += W2 GELU(W1 n[·, j] + b1) + b2                                 [B·3, D]
            //     These two products (k = 3 and 9) always run in float: quantizing their
            //     activations would cost more than the products, and float is the more
            //     accurate choice. `mlpAcrossRows` does them column-wise with the panel GEMM's
            //     arithmetic, without transposing n.
            layerNorm(x.p, rows: rowsTotal, dim: d, weight: l.tokenNormW, bias: l.tokenNormB, eps: cfg.lnEps, out: n.p)
            mlpAcrossRows(n.p, lda: d, groups: batch, rows: r, cols: d, w1: l.tokenFc1, activation: .gelu,
                          w2: l.tokenFc2, addInto: x.p, ldo: d, ctx: ctx)
            // 4b. Channel mixing: x += fc2(GELU(fc1(LN(x))))                               [B·3, D]
            layerNorm(x.p, rows: rowsTotal, dim: d, weight: l.channelNormW, bias: l.channelNormB, eps: cfg.lnEps, out: n.p)
            matmul(n.p, lda: d, m: rowsTotal, weight(l.channelFc1), bias: l.channelFc1.bias, activation: .gelu,
                   into: channelHidden.p, ldc: dh, mode: mode, ctx: ctx)
            matmul(channelHidden.p, lda: dh, m: rowsTotal, weight(l.channelFc2), bias: l.channelFc2.bias, accumulate: true,
                   into: x.p, ldc: d, mode: mode, ctx: ctx)
        }

        // 5. Output: LN then Linear(D → C) on row 0 of each sample                       [B, C]
        for s in 0 ..< batch {
            layerNorm(x.p + s * r * d, rows: 1, dim: d, weight: outNormW, bias: outNormB, eps: cfg.lnEps, out: head.p + s * d)
        }
        matmul(head.p, lda: d, m: batch, weight(outProj), bias: outProj.bias, into: v.p, ldc: c, mode: mode, ctx: ctx)
    }
}

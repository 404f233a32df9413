// Time conditioning of the decoder (docs/model.md, 'Time conditioning'): t → cond [M].
import Foundation
import Kernels
import ModelFile

/// Fourier time embedding, `time_in_proj`, then the mapping network (RMSNorm + SwiGLU blocks).
/// Weights named by `TensorNames.TimeConditioning` (under `dec.`: `time_emb`, `time_in_proj`, `mapping.*`).
final class TimeConditioning {
    struct Block {
        let norm: UnsafePointer<Float>             // [M] RMSNorm scale
        let up: Linear                             // [2·Hm, M], no bias; output [a | g]
        let down: Linear                           // [M, Hm], no bias
    }

    let cfg: ModelConfig.Mapping
    let mode: MatrixMode
    let ctx: ComputeContext

    let timeW: UnsafePointer<Float>                // [F] frequencies (time_emb.weight[:, 0])
    let inProj: Linear                             // [M, 2F], no bias
    let inNorm: UnsafePointer<Float>               // [M]
    let blocks: [Block]
    let outNorm: UnsafePointer<Float>              // [M]

    let e: FloatBuffer                             // [2F] = [cos f | sin f]
    let h: FloatBuffer                             // [M] residual stream
    let n: FloatBuffer                             // [M] normed
    let upOut: FloatBuffer                         // [2·Hm]
    let act: FloatBuffer                           // [Hm]

    init(loader: WeightLoader, config: ModelConfig, mode: MatrixMode, ctx: ComputeContext) throws {
        let m = config.mapping
        cfg = m
        self.mode = mode
        self.ctx = ctx
        typealias N = TensorNames.TimeConditioning
        timeW = try loader.floats(N.timeEmb, [m.timeFeatures])
        inProj = try loader.linear(N.timeInProj, [m.width, 2 * m.timeFeatures], bias: false)
        inNorm = try loader.floats(N.inNorm, [m.width])
        blocks = try (0 ..< m.depth).map { i in
            let b = N.block(i)
            return Block(norm: try loader.floats(b.norm, [m.width]),
                         up: try loader.linear(b.up, [2 * m.hidden, m.width], bias: false),
                         down: try loader.linear(b.down, [m.width, m.hidden], bias: false))
        }
        outNorm = try loader.floats(N.outNorm, [m.width])
        e = FloatBuffer(2 * m.timeFeatures)
        h = FloatBuffer(m.width)
        n = FloatBuffer(m.width)
        upOut = FloatBuffer(2 * m.hidden)
        act = FloatBuffer(m.hidden)
    }

    /// cond(t) written to `out` `[M]`.
    func forward(t: Float, out: UnsafeMutablePointer<Float>) {
        let f = cfg.timeFeatures, m = cfg.width, hm = cfg.hidden
        // 1. f_i = 2π · t · W_i; e = [cos f | sin f]                       [2F]
        for i in 0 ..< f {
            let angle = 2 * Float.pi * t * timeW[i]
            e.p[i] = cos(angle)
            e.p[f + i] = sin(angle)
        }
        // 2. h = time_in_proj(e)                                            [M]
        matmul(e.p, lda: 2 * f, m: 1, inProj.weight, bias: nil, into: h.p, ldc: m, mode: mode, ctx: ctx)
        // 3. h = RMSNorm_in(h)
        rmsNorm(h.p, rows: 1, dim: m, scale: inNorm, eps: cfg.rmsEps, out: h.p)
        // 4. Blocks: h += down(SwiGLU(up(RMSNorm(h))))
        for b in blocks {
            rmsNorm(h.p, rows: 1, dim: m, scale: b.norm, eps: cfg.rmsEps, out: n.p)
            matmul(n.p, lda: m, m: 1, b.up.weight, bias: nil, into: upOut.p, ldc: 2 * hm, mode: mode, ctx: ctx)
            swiglu(upOut.p, rows: 1, hidden: hm, out: act.p)
            matmul(act.p, lda: hm, m: 1, b.down.weight, bias: nil, accumulate: true, into: h.p, ldc: m, mode: mode, ctx: ctx)
        }
        // 5. cond = RMSNorm_out(h)
        rmsNorm(h.p, rows: 1, dim: m, scale: outNorm, eps: cfg.rmsEps, out: out)
    }
}

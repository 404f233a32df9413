// Adapter (docs/model.md, 'Adapter'): RepTok token t [C] → decoder conditioning token c [W].
import Foundation
import ModelFile
import Kernels

/// The ResidualProjection of the adapter, evaluated on the token row only:
/// `u = t·scale_factor + temp_pos_embed`, `c = LN(fc(u)) + pad(u)` (pad: zeros from C up to W).
/// Weights named by `TensorNames.Adapter`.
final class Adapter {
    let tokenWidth: Int                            // C
    let width: Int                                 // W (decoder width)
    let scaleFactor: Float
    let lnEps: Float                               // adapter.lnEps (1e-5)
    let mode: MatrixMode
    let ctx: ComputeContext

    let tempPos: UnsafePointer<Float>              // [C]
    let fc: Linear                                 // [W, C] + bias [W]
    let lnW, lnB: UnsafePointer<Float>             // [W]

    let u: FloatBuffer                             // [C]
    let y: FloatBuffer                             // [W]

    init(loader: WeightLoader, config: ModelConfig, mode: MatrixMode, ctx: ComputeContext) throws {
        tokenWidth = config.encoder.width
        width = config.adapter.width
        scaleFactor = config.scaleFactor
        lnEps = config.adapter.lnEps
        self.mode = mode
        self.ctx = ctx
        typealias N = TensorNames.Adapter
        tempPos = try loader.floats(N.tempPosEmbed, [tokenWidth])
        fc = try loader.linear(N.fc, [width, tokenWidth], bias: true)
        lnW = try loader.floats(N.ln.weight, [width])
        lnB = try loader.floats(N.ln.bias, [width])
        u = FloatBuffer(tokenWidth)
        y = FloatBuffer(width)
    }

    /// token `[C]` → c written to `out` `[W]`.
    func forward(token: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        // 1. u = t · scale_factor + temp_pos_embed                          [C]
        for j in 0 ..< tokenWidth { u.p[j] = token[j] * scaleFactor + tempPos[j] }
        // 2. y = fc(u)                                                      [W]
        matmul(u.p, lda: tokenWidth, m: 1, fc.weight, bias: fc.bias, into: y.p, ldc: width, mode: mode, ctx: ctx)
        // 3. c = LN(y)                                                     [W]
        layerNorm(y.p, rows: 1, dim: width, weight: lnW, bias: lnB, eps: lnEps, out: out)
        // 4. c[0 ..< C] += u (the zero-padded residual)
        add(out, u.p, count: tokenWidth, out: out)
    }
}

// DINOv2 encoder with registers (docs/model.md, 'Encoder'): encoder input [3, E, E] → RepTok token [C].
import Foundation
import Kernels
import ModelFile

/// Called with intermediate tensors by name (for `reptok trace`); nil in normal use.
public typealias TapHandler = (_ name: String, _ values: [Float]) -> Void

/// DINOv2 ViT with register tokens. Weights named by `TensorNames.Encoder` (docs/gguf-format.md).
final class Encoder {
    /// One pre-norm transformer block with LayerScale.
    struct Block {
        let norm1W, norm1B: UnsafePointer<Float>   // [C]
        let qkv: Linear                            // [3C, C] + bias [3C], output [q | k | v]
        let proj: Linear                           // [C, C] + bias [C]
        let ls1: UnsafePointer<Float>              // [C] LayerScale γ1
        let norm2W, norm2B: UnsafePointer<Float>   // [C]
        let fc1: Linear                            // [H, C] + bias [H]
        let fc2: Linear                            // [C, H] + bias [C]
        let ls2: UnsafePointer<Float>              // [C] LayerScale γ2
    }

    let cfg: ModelConfig.Encoder
    let scaleFactor: Float
    let mode: MatrixMode
    let ctx: ComputeContext

    let patchEmbed: Linear                         // [C, 3·p·p] + bias [C], input order (channel, ky, kx)
    let clsToken: UnsafePointer<Float>             // [C]
    let registers: UnsafePointer<Float>            // [R, C]
    let posEmbed: UnsafePointer<Float>             // [1 + g², C]: cls row, then the g×g grid row by row
    let blocks: [Block]
    let normW, normB: UnsafePointer<Float>         // [C] final LayerNorm
    /// The products of T rows in the level's W8A8 panels, built at the second `forward` after
    /// load or after `releaseRepacked()` (`RepackedWeights.Kind.manyRows`).
    private let repacked: RepackedWeights

    // Scratch, allocated once (T = 1 + R + g² tokens).
    let patches: FloatBuffer                       // [g², 3·p·p]
    let x: FloatBuffer                             // [T, C] residual stream
    let n: FloatBuffer                             // [T, C] normed input of a sub-block
    let qkv: FloatBuffer                           // [T, 3C]
    let attn: FloatBuffer                          // [T, C] attention output (heads concatenated)
    let hidden: FloatBuffer                        // [T, H] MLP hidden

    init(loader: WeightLoader, config: ModelConfig, mode: MatrixMode, ctx: ComputeContext) throws {
        let e = config.encoder
        cfg = e
        scaleFactor = config.scaleFactor
        self.mode = mode
        self.ctx = ctx
        let c = e.width, p = e.patchSize, g = e.grid, h = e.mlpHidden
        typealias N = TensorNames.Encoder
        patchEmbed = try loader.linear(N.patchEmbed, [c, 3 * p * p], bias: true)
        clsToken = try loader.floats(N.clsToken, [c])
        registers = e.registers > 0 ? try loader.floats(N.registerTokens, [e.registers, c]) : clsToken
        posEmbed = try loader.floats(N.posEmbed, [1 + g * g, c])
        blocks = try (0 ..< e.depth).map { i in
            let b = N.block(i)
            return Block(norm1W: try loader.floats(b.norm1.weight, [c]), norm1B: try loader.floats(b.norm1.bias, [c]),
                         qkv: try loader.linear(b.qkv, [3 * c, c], bias: true),
                         proj: try loader.linear(b.proj, [c, c], bias: true),
                         ls1: try loader.floats(b.ls1, [c]),
                         norm2W: try loader.floats(b.norm2.weight, [c]), norm2B: try loader.floats(b.norm2.bias, [c]),
                         fc1: try loader.linear(b.fc1, [h, c], bias: true),
                         fc2: try loader.linear(b.fc2, [c, h], bias: true),
                         ls2: try loader.floats(b.ls2, [c]))
        }
        normW = try loader.floats(N.norm.weight, [c])
        normB = try loader.floats(N.norm.bias, [c])
        // Every product runs on all T rows except the last block's projection and MLP (one row,
        // see `forward`), whose row form reads the file's weights as they are.
        let all = blocks
        let manyRows = all.enumerated().flatMap { i, b in i == all.count - 1 ? [b.qkv] : [b.qkv, b.proj, b.fc1, b.fc2] }
        repacked = RepackedWeights(.manyRows, candidates: manyRows, file: loader.file, buildAtUse: 2)

        let t = e.tokens
        patches = FloatBuffer(g * g * 3 * p * p)
        x = FloatBuffer(t * c)
        n = FloatBuffer(t * c)
        qkv = FloatBuffer(t * 3 * c)
        attn = FloatBuffer(t * c)
        hidden = FloatBuffer(t * h)
    }

    /// Frees the packed panels (built again at the second `forward` from now).
    func releaseRepacked() { repacked.release() }

    /// Products that currently read packed panels.
    var repackedCount: Int { repacked.count }

    /// Encoder input `[3, E, E]` (normalised, docs/model.md, 'Image preparation') → token t `[C]` (already divided by the
    /// scale factor). `tap` receives `enc_pos_embed`, `enc_tokens_in`, `enc_block0_out`.
    func forward(input: [Float], tap: TapHandler? = nil) -> [Float] {
        let c = cfg.width, p = cfg.patchSize, g = cfg.grid, r = cfg.registers, t = cfg.tokens
        let e = cfg.inputSize, hd = cfg.headDim, hidden = cfg.mlpHidden
        precondition(input.count == 3 * e * e)
        let firstPatch = 1 + r                     // row of patch 0 in the sequence

        // 1. Cut the input into g² patches of (channel, ky, kx) values, row by row.
        input.withUnsafeBufferPointer { img in
            guard let image = img.baseAddress else { return }
            for py in 0 ..< g {
                for px in 0 ..< g {
                    var dst = patches.p + (py * g + px) * 3 * p * p
                    for ch in 0 ..< 3 {
                        for ky in 0 ..< p {
                            let src = image + ch * e * e + (py * p + ky) * e + px * p
                            dst.update(from: src, count: p)
                            dst += p
                        }
                    }
                }
            }
        }
        // 2. Patch embedding (Conv2d k = stride = p as a matmul) into rows 1+R ..< T.
        matmul(patches.p, lda: 3 * p * p, m: g * g, patchEmbed.weight, bias: patchEmbed.bias,
               into: x.p + firstPatch * c, ldc: c, mode: mode, ctx: ctx)
        // 3. Row 0 = cls + pos[0]; rows 1...R = registers (no positional term); patches += pos[1...].
        add(clsToken, posEmbed, count: c, out: x.p)
        if r > 0 { (x.p + c).update(from: registers, count: r * c) }
        add(x.p + firstPatch * c, posEmbed + c, count: g * g * c, out: x.p + firstPatch * c)
        if let tap {
            tap("enc_pos_embed", Array(UnsafeBufferPointer(start: posEmbed, count: (1 + g * g) * c)))
            tap("enc_tokens_in", x.array(t * c))
        }

        // 4. Transformer blocks. Only the cls row leaves the encoder, so the last block needs
        //    every row only up to its keys and values: its attention, projection and MLP run on
        //    row 0 alone (rows = 1), a twelfth of a ViT-B's products skipped at no cost in accuracy.
        repacked.build(mode: mode, ctx: ctx)
        let weight = repacked.weight   // a product's copy when it has one
        for (i, b) in blocks.enumerated() {
            let rows = i == blocks.count - 1 && !(i == 0 && tap != nil) ? 1 : t
            // 4a. n = LN1(x)
            layerNorm(x.p, rows: t, dim: c, weight: b.norm1W, bias: b.norm1B, eps: cfg.lnEps, out: n.p, ctx: ctx)
            // 4b. [q | k | v] = n Wqkvᵀ + b                                    [T, 3C]
            matmul(n.p, lda: c, m: t, weight(b.qkv), bias: b.qkv.bias, into: qkv.p, ldc: 3 * c, mode: mode, ctx: ctx)
            // 4c. softmax(q kᵀ / √d) v per head, for the first `rows` queries  [rows, C]
            attention(q: qkv.p, qStride: 3 * c, k: qkv.p + c, kStride: 3 * c, v: qkv.p + 2 * c, vStride: 3 * c,
                      out: attn.p, outStride: c, tokens: t, queries: rows, heads: cfg.heads, headDim: hd,
                      scale: 1 / Float(hd).squareRoot(), ctx: ctx)
            // 4d. x += γ1 ⊙ (attn Wprojᵀ + b)
            matmul(attn.p, lda: c, m: rows, weight(b.proj), bias: b.proj.bias, colScale: b.ls1, accumulate: true,
                   into: x.p, ldc: c, mode: mode, ctx: ctx)
            // 4e. n = LN2(x)
            layerNorm(x.p, rows: rows, dim: c, weight: b.norm2W, bias: b.norm2B, eps: cfg.lnEps, out: n.p, ctx: ctx)
            // 4f. h = GELU(n W1ᵀ + b1)                                         [rows, H]
            matmul(n.p, lda: c, m: rows, weight(b.fc1), bias: b.fc1.bias, activation: .gelu,
                   into: self.hidden.p, ldc: hidden, mode: mode, ctx: ctx)
            // 4g. x += γ2 ⊙ (h W2ᵀ + b2)
            matmul(self.hidden.p, lda: hidden, m: rows, weight(b.fc2), bias: b.fc2.bias, colScale: b.ls2, accumulate: true,
                   into: x.p, ldc: c, mode: mode, ctx: ctx)
            if i == 0, let tap { tap("enc_block0_out", x.array(t * c)) }
        }

        // 5. Final LayerNorm of the cls row only, then divide by the scale factor.
        layerNorm(x.p, rows: 1, dim: c, weight: normW, bias: normB, eps: cfg.lnEps, out: n.p)
        var token = n.array(c)
        if scaleFactor != 1 { for j in 0 ..< c { token[j] /= scaleFactor } }
        return token
    }
}

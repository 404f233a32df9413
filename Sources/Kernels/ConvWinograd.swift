// Winograd F(2×2, 3×3) for the float 3×3 convolutions (float and W8A32 weights).
//
// Every 2×2 block of outputs (a tile) depends on a 4×4 patch of the input, rows 2ty − 1 …
// 2ty + 2 and columns 2tx − 1 … 2tx + 2 (zero outside the image). In the transformed domain
// the 3×3 correlation of a 4×4 patch becomes an elementwise product of 4×4 matrices:
//
//     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// and summing over input channels turns the 16 elementwise products into 16 independent
// GEMMs, M_ξ[tile, cout] = Σ_cin V_ξ[tile, cin] · U_ξ[cout, cin], ξ = 0 … 15: 16 multiplies
// per tile and channel pair instead of the direct convolution's 4 · 9 = 36. The GEMMs run on
// the float engine's microkernel over panels packed once per call; the input transform
// (Bᵀ d B) and output transform (Aᵀ M A) cost O(cin + cout) per tile.
//
// Tiles are processed in chunks of `Winograd.chunkTiles` (fixed, independent of the thread
// count): a chunk's transformed input, 16 · tiles · cin floats, stays in the core's caches
// while its 16 GEMMs read it. Each output is computed by its chunk alone with the same
// arithmetic on any thread, so results are bit-identical for any thread count.

/// Which algorithm `conv3x3` runs for its float arithmetic (float weights, and int8 or int4
/// weights in W8A32). W8A8 always runs the int8 implicit GEMM.
public enum ConvAlgorithm: String, Sendable, CaseIterable {
    /// Winograd where it pays (`Winograd.pays`), else direct.
    case automatic
    /// The implicit GEMM (every output one FMA chain over its 9 · cin products).
    case direct
    /// Winograd F(2×2, 3×3) at any shape.
    case winograd
}

/// Constants and the shape rule of the Winograd path.
enum Winograd {
    /// Tiles (2×2 outputs) per chunk: the chunk's V is 16 · 64 · cin floats (512 KB at cin 128,
    /// 2 MB at cin 512). 16, 32, 64 and 128 measured within noise of each other (±5 %, one
    /// Zen 5 core, 32×32×512 and 256×256×128); 64 was marginally best.
    static let chunkTiles = 64
    /// Winograd pays when both channel counts are at least this: the transforms cost
    /// O(cin + cout) per tile against the GEMMs' O(cin · cout). Measured on one Zen 5 core at
    /// 64×64 pixels: 8 → 8 channels Winograd is 0.86× the direct path, 16 → 16 1.3×,
    /// 64 → 64 2.5×. The VAE's conv_in (4 inputs) and conv_out (3 outputs) stay direct.
    static let minChannels = 16

    static func pays(cin: Int, cout: Int) -> Bool { cin >= minChannels && cout >= minChannels }
}

/// The Winograd path of `conv3x3`: x [height, width, cin] → out [height, width, n], weights
/// [n, 9 · cin] tap-major (float, or int8 values whose row scales come in `epilogue.wScale`).
func winogradConv3x3(_ x: UnsafePointer<Float>, height: Int, width: Int, cin: Int, weights: WeightSource,
                     n: Int, epilogue: Epilogue, out: UnsafeMutablePointer<Float>, ctx: ComputeContext) {
    precondition(epilogue.alpha == 1 && epilogue.colScale == nil && epilogue.activation == .none && !epilogue.accumulate,
                 "winogradConv3x3: the epilogue may only scale and add bias")
    let blocks = uniformBlocks(k: cin, kc: Blocking.kcF32)
    // U: 16 packed matrices [n, cin] (the float engine's panels), one after another.
    let uStride = prepackedF32Count(n: n, blocks: blocks)
    let u = ctx.prepArena().buffer(bytes: max(16 * uStride, 1) * 4).bindMemory(to: Float.self, capacity: 16 * uStride)
    winogradWeights(weights, n: n, cin: cin, blocks: blocks, into: u, stride: uStride, ctx: ctx)

    let tilesY = (height + 1) / 2, tilesX = (width + 1) / 2, tiles = tilesY * tilesX
    let chunk = Winograd.chunkTiles, chunks = (tiles + chunk - 1) / chunk
    let cinP = (cin + 15) / 16 * 16
    // one cache line more than the matrices need, so the 16 streams of a transform (same
    // offset in each ξ matrix) do not all map to the same L1 set (a 4 KB multiple apart)
    let vStride = chunk * cinP + 16, mStride = chunk * Blocking.nc + 16
    let geometry = WinogradTiles(x: x, height: height, width: width, cin: cin, tilesX: tilesX)
    let kernels = ctx.kernels, strip = kernels.f32Strip
    ctx.parallelForBalanced(chunks) { range, slot in
        // V [16][chunk][cinP], M [16][chunk][64], a zero input row, 8 row pointers
        let floats = 16 * vStride + 16 * mStride + cinP
        let raw = ctx.scratch[slot].buffer(bytes: floats * 4 + 64)
        let v = raw.bindMemory(to: Float.self, capacity: floats)
        let m = v + 16 * vStride, zero = m + 16 * mStride
        let ptrs = (raw + floats * 4).bindMemory(to: UnsafePointer<Float>.self, capacity: 8)
        zero.initialize(repeating: 0, count: cinP)
        for ch in range {
            let t0 = ch * chunk, count = min(chunk, tiles - t0)
            for i in 0..<count { geometry.inputTransform(tile: t0 + i, zero: zero, into: v + i * cinP, stride: vStride) }
            var n0 = 0
            while n0 < n {
                let nc = min(Blocking.nc, n - n0), nb = n0 / Blocking.nc, panels = (nc + 31) / 32
                for xi in 0..<16 {
                    let vx = v + xi * vStride, mx = m + xi * mStride
                    for (bi, blk) in blocks.enumerated() {
                        let w = u + xi * uStride + Blocking.nc * (nb * cin + blk.k0)
                        var i = 0
                        while i < count {
                            let r = min(strip, count - i)
                            for z in 0..<r { ptrs[z] = UnsafePointer(vx + (i + z) * cinP + blk.k0) }
                            for jp in 0..<panels {
                                kernels.f32Kernel(rows: r, nv: 2, kc: blk.kc, a: UnsafePointer(ptrs), aStep: 1,
                                                  b: UnsafePointer(w + jp * blk.kc * 32), ldb: 32,
                                                  c: mx + i * Blocking.nc + jp * 32, ldc: Blocking.nc, accumulate: bi > 0)
                            }
                            i += r
                        }
                    }
                    if blocks.isEmpty { mx.initialize(repeating: 0, count: mStride) }
                }
                for i in 0..<count {
                    geometry.outputTransform(tile: t0 + i, m: m + i * Blocking.nc, stride: mStride, n0: n0, nc: nc,
                                             n: n, epilogue: epilogue, out: out)
                }
                n0 += Blocking.nc
            }
        }
    }
}

/// Bᵀ applied to four vectors (one column or row of a 4×4 patch), Bᵀ = [[1,0,−1,0], [0,1,1,0],
/// [0,−1,1,0], [0,1,0,−1]].
@inline(__always)
private func bt(_ d0: SIMD16<Float>, _ d1: SIMD16<Float>, _ d2: SIMD16<Float>, _ d3: SIMD16<Float>)
    -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
    (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
}

/// Aᵀ applied to four vectors, Aᵀ = [[1,1,1,0], [0,1,−1,−1]].
@inline(__always)
private func at(_ m0: SIMD16<Float>, _ m1: SIMD16<Float>, _ m2: SIMD16<Float>, _ m3: SIMD16<Float>)
    -> (SIMD16<Float>, SIMD16<Float>) {
    (m0 + m1 + m2, m1 - m2 - m3)
}

/// G applied to three vectors (one row or column of g), G = [[1,0,0], [½,½,½], [½,−½,½], [0,0,1]].
/// On integers (int8 weights) every result is exact: sums of at most three values below
/// 2^12, halved.
@inline(__always)
private func gt(_ g0: SIMD16<Float>, _ g1: SIMD16<Float>, _ g2: SIMD16<Float>)
    -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
    (g0, (g0 + g1 + g2) * 0.5, (g0 - g1 + g2) * 0.5, g2)
}

/// The input and output geometry of one convolution: tile t covers outputs rows 2ty, 2ty + 1
/// and columns 2tx, 2tx + 1 (ty = t / tilesX, tx = t % tilesX).
private struct WinogradTiles {
    let x: UnsafePointer<Float>, height: Int, width: Int, cin: Int, tilesX: Int

    /// V = Bᵀ d B of tile t for every channel: v[ξ · stride + c], ξ = 4 · row + column,
    /// c < cin rounded up to 16 (lanes past cin are 0).
    @inline(__always)
    func inputTransform(tile t: Int, zero: UnsafePointer<Float>, into v: UnsafeMutablePointer<Float>, stride: Int) {
        let y0 = 2 * (t / tilesX) - 1, x0 = 2 * (t % tilesX) - 1
        // the 16 input pixels of the patch, row-major, or the zero row outside the image
        var p = (zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero)
        withUnsafeMutableBytes(of: &p) { raw in
            let pp = raw.bindMemory(to: UnsafePointer<Float>.self)
            for r in 0..<4 where y0 + r >= 0 && y0 + r < height {
                for s in 0..<4 where x0 + s >= 0 && x0 + s < width {
                    pp[4 * r + s] = x + ((y0 + r) * width + x0 + s) * cin
                }
            }
        }
        var c = 0
        while c < cin {
            let cnt = min(16, cin - c)
            @inline(__always) func ld(_ q: UnsafePointer<Float>) -> SIMD16<Float> {
                cnt == 16 ? load16(q + c) : loadPartial(q + c, cnt)
            }
            // Bᵀ d: columns
            let (a0, a4, a8, a12) = bt(ld(p.0), ld(p.4), ld(p.8), ld(p.12))
            let (a1, a5, a9, a13) = bt(ld(p.1), ld(p.5), ld(p.9), ld(p.13))
            let (a2, a6, a10, a14) = bt(ld(p.2), ld(p.6), ld(p.10), ld(p.14))
            let (a3, a7, a11, a15) = bt(ld(p.3), ld(p.7), ld(p.11), ld(p.15))
            // (Bᵀ d) B: rows
            let o = v + c
            let (v0, v1, v2, v3) = bt(a0, a1, a2, a3)
            store16(v0, o); store16(v1, o + stride); store16(v2, o + 2 * stride); store16(v3, o + 3 * stride)
            let (v4, v5, v6, v7) = bt(a4, a5, a6, a7)
            store16(v4, o + 4 * stride); store16(v5, o + 5 * stride); store16(v6, o + 6 * stride); store16(v7, o + 7 * stride)
            let (v8, v9, v10, v11) = bt(a8, a9, a10, a11)
            store16(v8, o + 8 * stride); store16(v9, o + 9 * stride); store16(v10, o + 10 * stride); store16(v11, o + 11 * stride)
            let (v12, v13, v14, v15) = bt(a12, a13, a14, a15)
            store16(v12, o + 12 * stride); store16(v13, o + 13 * stride); store16(v14, o + 14 * stride)
            store16(v15, o + 15 * stride)
            c += 16
        }
    }

    /// Y = Aᵀ M A for tile t and columns [n0, n0 + nc) of out (row stride n), M_ξ at
    /// m[ξ · stride + j], j < nc (the tile's row of the chunk's M); then the epilogue (weight
    /// scale, bias). Outputs past the image's last row or column are not written.
    @inline(__always)
    func outputTransform(tile t: Int, m: UnsafePointer<Float>, stride: Int, n0: Int, nc: Int, n: Int,
                         epilogue: Epilogue, out: UnsafeMutablePointer<Float>) {
        let oy = 2 * (t / tilesX), ox = 2 * (t % tilesX)
        let right = ox + 1 < width, below = oy + 1 < height
        var j = 0
        while j < nc {
            let cnt = min(16, nc - j), col = n0 + j
            // the conv's epilogue is weight scale and bias only (absent: × 1, + 0)
            let ws = epilogue.wScale.map { cnt == 16 ? load16($0 + col) : loadPartial($0 + col, cnt) }
                ?? SIMD16<Float>(repeating: 1)
            let bs = epilogue.bias.map { cnt == 16 ? load16($0 + col) : loadPartial($0 + col, cnt) } ?? SIMD16<Float>()
            @inline(__always) func ld(_ xi: Int) -> SIMD16<Float> { load16(m + xi * stride + j) }
            // Aᵀ M: columns, then (Aᵀ M) A: rows
            let (s0, s4) = at(ld(0), ld(4), ld(8), ld(12))
            let (s1, s5) = at(ld(1), ld(5), ld(9), ld(13))
            let (s2, s6) = at(ld(2), ld(6), ld(10), ld(14))
            let (s3, s7) = at(ld(3), ld(7), ld(11), ld(15))
            let (y00, y01) = at(s0, s1, s2, s3)
            let (y10, y11) = at(s4, s5, s6, s7)
            let o = out + (oy * width + ox) * n + col, down = width * n
            storeOut(y00 * ws + bs, o, cnt)
            if right { storeOut(y01 * ws + bs, o + n, cnt) }
            if below { storeOut(y10 * ws + bs, o + down, cnt) }
            if right && below { storeOut(y11 * ws + bs, o + down + n, cnt) }
            j += 16
        }
    }
}

/// Stores the low `cnt` (≤ 16) lanes of v at o.
@inline(__always)
private func storeOut(_ v: SIMD16<Float>, _ o: UnsafeMutablePointer<Float>, _ cnt: Int) {
    if cnt == 16 { store16(v, o) } else { storePartial(v, o, cnt) }
}

/// U_ξ = G g Gᵀ for every (output j, input channel c), written as 16 float-panel matrices
/// [n, cin] in `prepackF32`'s layout (matrix ξ at u + ξ · stride). g is the 3×3 kernel
/// w[j, (3 · ty + tx) · cin + c] as stored: int8 values are transformed unscaled (exact in
/// float: multiples of ¼ below 2^11), their row scale stays in the epilogue.
/// Per task (64 outputs × one K block): the 16 matrices row-major in the thread's scratch,
/// 16 channels per vector, then the level's packing (vectorized transposes) into panels.
func winogradWeights(_ weights: WeightSource, n: Int, cin: Int, blocks: KBlocks,
                     into u: UnsafeMutablePointer<Float>, stride: Int, ctx: ComputeContext) {
    let nBlocks = (n + Blocking.nc - 1) / Blocking.nc, count = blocks.count
    let k = 9 * cin, kcP = (blocks.maxKc + 15) / 16 * 16, tStride = Blocking.nc * kcP
    let pack = ctx.kernels.pack
    ctx.parallelForSlots(nBlocks * count) { range, slot in
        // [16][64][kcP]: the task's 16 matrices, row-major
        let tmp = ctx.scratch[slot].buffer(bytes: 16 * tStride * 4).bindMemory(to: Float.self, capacity: 16 * tStride)
        for task in range {
            let nb = task / count, blk = blocks[task % count]
            let n0 = nb * Blocking.nc, nc = min(n, n0 + Blocking.nc) - n0
            for jj in 0..<nc {
                let row = (n0 + jj) * k + blk.k0
                var c = 0
                while c < blk.kc {
                    let cnt = min(16, blk.kc - c)
                    @inline(__always) func g(_ tap: Int) -> SIMD16<Float> {
                        let at = row + tap * cin + c
                        switch weights {
                        case .f32(let w):
                            return cnt == 16 ? load16(w + at) : loadPartial(w + at, cnt)
                        case .i8(let w):
                            if cnt == 16 { return vfloat(UnsafeRawPointer(w + at).loadUnaligned(as: SIMD16<Int8>.self)) }
                            var v = SIMD16<Float>()
                            for l in 0..<cnt { v[l] = Float(w[at + l]) }
                            return v
                        }
                    }
                    // G g: columns (tx = 0, 1, 2), then (G g) Gᵀ: rows
                    let (a0, a3, a6, a9) = gt(g(0), g(3), g(6))
                    let (a1, a4, a7, a10) = gt(g(1), g(4), g(7))
                    let (a2, a5, a8, a11) = gt(g(2), g(5), g(8))
                    let o = tmp + jj * kcP + c
                    let (u0, u1, u2, u3) = gt(a0, a1, a2)
                    store16(u0, o); store16(u1, o + tStride); store16(u2, o + 2 * tStride); store16(u3, o + 3 * tStride)
                    let (u4, u5, u6, u7) = gt(a3, a4, a5)
                    store16(u4, o + 4 * tStride); store16(u5, o + 5 * tStride); store16(u6, o + 6 * tStride)
                    store16(u7, o + 7 * tStride)
                    let (u8, u9, u10, u11) = gt(a6, a7, a8)
                    store16(u8, o + 8 * tStride); store16(u9, o + 9 * tStride); store16(u10, o + 10 * tStride)
                    store16(u11, o + 11 * tStride)
                    let (u12, u13, u14, u15) = gt(a9, a10, a11)
                    store16(u12, o + 12 * tStride); store16(u13, o + 13 * tStride); store16(u14, o + 14 * tStride)
                    store16(u15, o + 15 * tStride)
                    c += 16
                }
            }
            let base = u + Blocking.nc * (nb * cin + blk.k0)
            for xi in 0..<16 {
                packF32(.f32(tmp + xi * tStride), ldw: kcP, nc: nc, kc: blk.kc, into: base + xi * stride, with: pack)
            }
        }
    }
}

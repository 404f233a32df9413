// Products with int4 weights (GGML Q4_0 blocks, `WeightMatrix.Storage.q4`): the two drivers
// behind `matmul` for such weights.
//
// - W4A32 (float activations): column chunks of the weights are dequantized into float rows
//   (exact: a 4-bit integer times an fp16 scale is a float32 value), then run through the float
//   engine, whose fused multiply-add chains are bit-identical on every level.
// - W4A8 (int8 activations): on the x86 levels, the row form (m ≤ 8, the generator) dots
//   straight from the Q4_0 blocks, 16 (zmm) or 8 (ymm) columns at a time, nibbles split in
//   registers (no panel). Otherwise every 64-column task unpacks its weights, one K block at a time,
//   into 32-column panels of nibbles (read once from memory), then a W4A8 microkernel sums each group of 32 inputs exactly in int32 and scales it:
//   acc = fma(float(S_g), d_g, acc) for g in increasing order, then acc · rowScale. Integer
//   sums are exact on every level and the float steps are the same, so the output is
//   bit-identical across levels and thread counts.
import CKernels

/// Block sizes of the int4 drivers.
enum BlockingQ4 {
    /// Groups of 32 inputs per K block: a 32-column panel of unpacked nibbles is
    /// groups · 1 KB (24 KB at 24 groups, L1 resident), plus groups · 128 bytes of scales.
    static let groupsPerBlock = 24
    /// The row form (m ≤ 8 rows) on levels without a row kernel (`Q4Level.rows` nil: neon,
    /// generic) packs up to this many groups at once (8192 inputs: a 64-column
    /// task's panels are then at most 512 KB, L2 resident), so each weight row is read as one
    /// long sequential run, which the hardware prefetchers follow.
    static let groupsPerRowBlock = 256
    /// Floats of dequantized weights per W4A32 chunk (4 MB, L2/L3 resident).
    static let chunkFloats = 1 << 20
}

/// The W4A8 microkernel of a level: `vpdpbusd` zmm, `vpmaddubsw` ymm, or portable C.
enum Q4Kernel { case vnni, avx2, c }
/// The nibble unpacking of a level: AVX-512 loads and in-lane transposes, AVX2 gathers, or C.
enum Q4Pack { case avx512, avx2, c }
/// The W4A8 row form of a level (m ≤ 8 rows, straight from the Q4_0 blocks, no panel):
/// `vpdpbusd` zmm on 16 columns, `vpdpbusd` ymm on 8 (AVX-VNNI, or its EVEX twin when `evex`
/// is 1), or `vpmaddubsw` ymm on 8.
enum Q4Rows: Equatable { case vnni, avxvnni(evex: Int32), avx2 }
/// The W4A8 panel form on strips repacked at load (`Q4Strips`): `vpdpbusd` zmm, `vpdpbusd` ymm
/// (AVX-VNNI, or its EVEX twin when `evex` is 1), or `vpmaddubsw` ymm.
enum Q4StripKernel: Equatable { case vnni, avxvnni(evex: Int32), avx2 }
/// A level's int4 row of the dispatch table (`KernelSet.q4`); `rows` nil: the row form packs
/// panels like the panel form; `strips` nil: the panel form never reads strips.
struct Q4Level {
    var kernel: Q4Kernel; var pack: Q4Pack; var rows: Q4Rows? = nil; var strips: Q4StripKernel? = nil
}

/// `matmul` for int4 weights (same contract). `mode` .w8a32 runs W4A32, .w8a8 runs W4A8.
func matmulQ4(_ a: UnsafePointer<Float>, lda: Int, m: Int, blocks w: UnsafeRawPointer, strips: UnsafeRawPointer?,
              n: Int, k: Int,
              bias: UnsafePointer<Float>?, activation: Activation, colScale: UnsafePointer<Float>?,
              accumulate: Bool, into c: UnsafeMutablePointer<Float>, ldc: Int, mode: MatrixMode,
              ctx: ComputeContext) {
    if mode == .w8a32 {
        matmulQ4Float(a, lda: lda, m: m, blocks: w, n: n, k: k, bias: bias, activation: activation,
                      colScale: colScale, accumulate: accumulate, into: c, ldc: ldc, ctx: ctx)
        return
    }
    let groups = k / 32
    let rowBytes = WeightMatrix.q4RowBytes(k: k)
    // Quantize every row of A once, with per-group sums 8·Σq (the nibbles carry +8).
    let kq = max(k, 32)
    let prep = ctx.prepArena().buffer(bytes: m * kq + m * max(groups, 1) * 4 + m * 4 + 192)
    let q = prep.bindMemory(to: Int8.self, capacity: m * kq)
    let corr = (prep + (m * kq + 63) / 64 * 64).bindMemory(to: Int32.self, capacity: m * max(groups, 1))
    let scale = (UnsafeMutableRawPointer(corr) + m * max(groups, 1) * 4).bindMemory(to: Float.self, capacity: m)
    let quantize = { (rows: Range<Int>) in
        for i in rows {
            let cg = corr + i * max(groups, 1)
            scale[i] = quantizeRowFast(a + i * lda, k: k, kq: kq, into: q + i * kq, blockLen: 32, sums: cg)
            // quantizeRowFast gives 128·Σq per group; the kernels subtract 8·Σq (exact: a multiple of 16)
            for g in 0..<groups { cg[g] = cg[g] >> 4 }
        }
    }
    if m <= Blocking.smallM { quantize(0..<m) } else { ctx.parallelFor(m, quantize) }
    var epilogue = Epilogue(wScale: nil, bias: bias, colScale: colScale, activation: activation,
                            accumulate: accumulate)
    epilogue.alpha = 1
    let tiling = PanelTiling(m: m, n: n)
    let gpb = m <= Blocking.smallM ? BlockingQ4.groupsPerRowBlock : BlockingQ4.groupsPerBlock
    let maxNg = min(gpb, max(groups, 1))
    let product = Q4A8Product(blocks: w, strips: strips, rowBytes: rowBytes, groups: groups, q: q, kq: kq,
                              corr: corr, level: ctx.kernels.q4, groupsPerBlock: gpb)
    ctx.parallelForBalanced(tiling.tasks) { tasks, slot in
        let ncp = Blocking.nc
        let panelBytes = 2 * maxNg * 1024, dFloats = 2 * maxNg * 32, tileFloats = tiling.mc * ncp
        let raw = ctx.scratch[slot].buffer(bytes: panelBytes + (dFloats + tileFloats) * 4 + 16 * 8 + 64)
        let scratch = Q4A8Product.Scratch(
            panel: raw.bindMemory(to: UInt8.self, capacity: panelBytes),
            dpanel: (raw + panelBytes).bindMemory(to: Float.self, capacity: dFloats + tileFloats),
            tile: (raw + panelBytes).bindMemory(to: Float.self, capacity: dFloats + tileFloats) + dFloats,
            ptrs: (raw + panelBytes + (dFloats + tileFloats) * 4).bindMemory(to: UnsafePointer<Int8>?.self, capacity: 8),
            cptrs: (raw + panelBytes + (dFloats + tileFloats) * 4 + 64).bindMemory(to: UnsafePointer<Int32>?.self, capacity: 8))
        let tile = scratch.tile
        for t in tasks {
            let (m0, m1, _, n0, n1) = tiling.task(t)
            let panels = (n1 - n0 + 31) / 32
            if groups == 0 { tile.initialize(repeating: 0, count: tileFloats) }
            if !product.rowForm(rows: m0..<m1, n0: n0, n1: n1, scratch) {
                product.panelForm(rows: m0..<m1, n0: n0, n1: n1, scratch)
            }
            // the row scales, then bias / activation / column scales
            for i in m0..<m1 {
                let s = scale[i], tr = tile + (i - m0) * ncp
                for j in 0..<(panels * 32) { tr[j] *= s }
            }
            epilogue.apply(tile: tile, ldt: ncp, rows: m1 - m0, n0: n0, cols: n1 - n0,
                           c: c + m0 * ldc, ldc: ldc)
        }
    }
}

/// One W4A8 product's shared inputs (weights, quantized rows, the level's int4 kernels) and the
/// two ways a task fills its tile [rows, 64] (row stride `Blocking.nc`) with Σ_g float(S_g)·d_g.
private struct Q4A8Product {
    /// A task thread's buffers: nibble panels and their scales, the tile, row pointers.
    struct Scratch {
        let panel: UnsafeMutablePointer<UInt8>, dpanel: UnsafeMutablePointer<Float>, tile: UnsafeMutablePointer<Float>
        let ptrs: UnsafeMutablePointer<UnsafePointer<Int8>?>, cptrs: UnsafeMutablePointer<UnsafePointer<Int32>?>
    }
    let blocks: UnsafeRawPointer, strips: UnsafeRawPointer?, rowBytes: Int, groups: Int
    /// Quantized rows (kq bytes each) and their per-group corrections [m][max(groups, 1)].
    let q: UnsafePointer<Int8>, kq: Int, corr: UnsafePointer<Int32>
    let level: Q4Level, groupsPerBlock: Int

    /// Points `ptrs`/`cptrs` at rows [i, i + r) from group g0 on.
    private func point(_ s: Scratch, rows i: Int, _ r: Int, group g0: Int) {
        for z in 0..<r {
            s.ptrs[z] = UnsafePointer(q + (i + z) * kq + g0 * 32)
            s.cptrs[z] = UnsafePointer(corr + (i + z) * max(groups, 1) + g0)
        }
    }

    /// The row form (≤ 8 rows on a level with a row kernel): every group at once, straight from
    /// the blocks or the strips, no panel, each weight byte read once. False when it does not apply.
    func rowForm(rows: Range<Int>, n0: Int, n1: Int, _ s: Scratch) -> Bool {
        guard let rowKernel = level.rows, rows.count <= 8 else { return false }
        point(s, rows: rows.lowerBound, rows.count, group: 0)
        let r = rows.count, wt = blocks.assumingMemoryBound(to: UInt8.self) + n0 * rowBytes, ncp = Blocking.nc
        switch rowKernel {
        case .vnni where strips != nil:
            // n0 is a multiple of 64: the task starts at strip n0 / 16
            let ws = strips.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self) + n0 / 16 * groups * Q4Strips.groupBytes
            rtk_q4x16_rows_vnni(r, groups, s.ptrs, s.cptrs, ws, n1 - n0, s.tile, ncp)
        case .vnni: rtk_q4_rows_vnni(r, groups, s.ptrs, s.cptrs, wt, rowBytes, n1 - n0, s.tile, ncp)
        case .avxvnni(let evex): rtk_q4_rows_avxvnni(evex, r, groups, s.ptrs, s.cptrs, wt, rowBytes, n1 - n0, s.tile, ncp)
        case .avx2: rtk_q4_rows_avx2(r, groups, s.ptrs, s.cptrs, wt, rowBytes, n1 - n0, s.tile, ncp)
        }
        return true
    }

    /// The panel form: K blocks of `groupsPerBlock` groups, each unpacked into 32-column panels
    /// of nibbles, then the microkernel on strips of 8 rows × every panel, accumulating from the
    /// second block on. Where the level has a strip kernel and the weights have strips, the
    /// kernel reads them in place over all of K at once (a 64-column task's strips are
    /// groups · 1,152 bytes, L2-resident; one block instead of 24-group blocks: 3 % faster).
    func panelForm(rows: Range<Int>, n0: Int, n1: Int, _ s: Scratch) {
        let panels = (n1 - n0 + 31) / 32, stripsInTask = (n1 - n0 + 15) / 16, ncp = Blocking.nc
        let fromStrips = strips != nil && level.strips != nil
        let wt = blocks.assumingMemoryBound(to: UInt8.self) + n0 * rowBytes
        var g0 = 0
        while g0 < groups {
            let ng = fromStrips ? groups - g0 : min(groupsPerBlock, groups - g0)
            switch level.pack {
            case _ where fromStrips: break
            case .avx512: rtk_q4_pack_avx512(wt, rowBytes, n1 - n0, g0, ng, s.panel, s.dpanel)
            case .avx2: rtk_q4_pack_avx2(wt, rowBytes, n1 - n0, g0, ng, s.panel, s.dpanel)
            case .c: rtk_q4_pack(wt, rowBytes, n1 - n0, g0, ng, s.panel, s.dpanel)
            }
            var i = rows.lowerBound
            while i < rows.upperBound {
                let r = min(8, rows.upperBound - i)
                point(s, rows: i, r, group: g0)
                for jp in 0..<panels {
                    let cc = s.tile + (i - rows.lowerBound) * ncp + jp * 32
                    let accum: Int32 = g0 > 0 ? 1 : 0
                    if fromStrips, let strips, let stripKernel = level.strips {
                        // strips 2·jp and 2·jp + 1 of the task (the second may not exist: its
                        // columns are then dead, and the first is read again for them)
                        let first = n0 / 16 + 2 * jp, second = 2 * jp + 1 < stripsInTask ? first + 1 : first
                        let base = strips.assumingMemoryBound(to: UInt8.self) + g0 * Q4Strips.groupBytes
                        let sa = base + first * groups * Q4Strips.groupBytes, sb = base + second * groups * Q4Strips.groupBytes
                        switch stripKernel {
                        case .vnni: rtk_q4x16_kernel_vnni(r, ng, s.ptrs, s.cptrs, sa, sb, cc, ncp, accum)
                        case .avxvnni(let evex): rtk_q4x16_kernel_avxvnni(evex, r, ng, s.ptrs, s.cptrs, sa, sb, cc, ncp, accum)
                        case .avx2: rtk_q4x16_kernel_avx2(r, ng, s.ptrs, s.cptrs, sa, sb, cc, ncp, accum)
                        }
                        continue
                    }
                    let pp = s.panel + jp * ng * 1024, dp = s.dpanel + jp * ng * 32
                    switch level.kernel {
                    case .vnni: rtk_q4_kernel_vnni(r, ng, s.ptrs, s.cptrs, pp, dp, cc, ncp, accum)
                    case .avx2: rtk_q4_kernel_avx2(r, ng, s.ptrs, s.cptrs, pp, dp, cc, ncp, accum)
                    case .c: rtk_q4_kernel_c(r, ng, s.ptrs, s.cptrs, pp, dp, cc, ncp, accum)
                    }
                }
                i += r
            }
            g0 += ng
        }
    }
}

/// W4A32: dequantize column chunks into float rows and run the float engine on each chunk.
/// Every output column is produced by the float engine exactly as for float weights of the
/// same (dequantized) values, so chunking changes nothing.
private func matmulQ4Float(_ a: UnsafePointer<Float>, lda: Int, m: Int, blocks w: UnsafeRawPointer, n: Int, k: Int,
                           bias: UnsafePointer<Float>?, activation: Activation, colScale: UnsafePointer<Float>?,
                           accumulate: Bool, into c: UnsafeMutablePointer<Float>, ldc: Int, ctx: ComputeContext) {
    let rowBytes = WeightMatrix.q4RowBytes(k: k), groups = k / 32
    let wb = w.assumingMemoryBound(to: UInt8.self)
    if m <= Blocking.smallM {
        // Row form: each 64-column task dequantizes its rows into its thread's prep buffer (L2
        // resident) and runs the float row form on them (nested, so inline on this thread), so
        // the weights are read from memory once and never written out whole.
        let tasks = (n + Blocking.nc - 1) / Blocking.nc
        ctx.parallelForSlots(tasks) { range, _ in
            let buf = ctx.prepArena().buffer(bytes: Blocking.nc * max(k, 1) * 4 + 64)
                .bindMemory(to: Float.self, capacity: Blocking.nc * max(k, 1))
            for t in range {
                let n0 = t * Blocking.nc, cols = min(Blocking.nc, n - n0)
                rtk_q4_dequant_rows(wb + n0 * rowBytes, rowBytes, cols, groups, buf, k)
                matmul(a, lda: lda, m: m, WeightMatrix(f32: buf, n: cols, k: k), bias: bias.map { $0 + n0 },
                       activation: activation, colScale: colScale.map { $0 + n0 }, accumulate: accumulate,
                       into: c + n0, ldc: ldc, mode: .w8a32, ctx: ctx)
            }
        }
        return
    }
    // Chunks are whole 64-column tasks of the float engine, and at least one task per thread.
    let byMemory = max(1, BlockingQ4.chunkFloats / max(k, 1) / Blocking.nc) * Blocking.nc
    let chunk = max(byMemory, Blocking.nc * ctx.threads)
    let buffer = ctx.prepArena().buffer(bytes: min(chunk, n) * max(k, 1) * 4 + 64)
    let wf = buffer.bindMemory(to: Float.self, capacity: min(chunk, n) * max(k, 1))
    var j0 = 0
    while j0 < n {
        let cols = min(chunk, n - j0)
        let base = w.assumingMemoryBound(to: UInt8.self) + j0 * rowBytes
        ctx.parallelFor(cols) { rows in
            rtk_q4_dequant_rows(base + rows.lowerBound * rowBytes, rowBytes, rows.count, groups,
                                wf + rows.lowerBound * k, k)
        }
        matmul(a, lda: lda, m: m, WeightMatrix(f32: wf, n: cols, k: k), bias: bias.map { $0 + j0 },
               activation: activation, colScale: colScale.map { $0 + j0 }, accumulate: accumulate,
               into: c + j0, ldc: ldc, mode: .w8a32, ctx: ctx)
        j0 += cols
    }
}

/// Dequantizes a whole int4 matrix into `out` [n, k] (for paths with no int4 kernel).
func dequantizeQ4(_ w: UnsafeRawPointer, n: Int, k: Int, into out: UnsafeMutablePointer<Float>) {
    rtk_q4_dequant_rows(w.assumingMemoryBound(to: UInt8.self), WeightMatrix.q4RowBytes(k: k), n, k / 32, out, k)
}

// The W8A8 products on AMX tiles (levels `amx` and `amx-emulated`), entered from
// `panelGemmI8` and `rowGemmI8` when the context's kernels have tiles.
//
// Layout: the weights are the tile A operand, read by `tileloadd` straight from the
// memory-mapped [n, k] rows (16 output channels × 64 bytes of k, row stride k); no weight
// copy. The activations, quantized per call anyway, are packed per strip of 16 rows into
// the B layout [k/4][16 rows][4 bytes]. The int32 result tiles are Cᵀ (16 channels × 16
// rows); the C driver transposes them back. `tdpbssd` multiplies signed by signed bytes,
// so the int32 sums are exactly those of every other level with no +128 correction.
//
// Edges (all tiles stay 16 rows × 64 bytes, configured once per strip call):
// - k not a multiple of 64 (the patch embedding's 588, a 3-channel convolution tap): the
//   packed B is zero past kc, so whatever A reads there (the next columns of W) adds 0;
// - n not a multiple of 16: A rows past the task's columns read the next weight rows and
//   their sums are dropped; a read that would pass the end of W goes through a zero-padded
//   copy (the C driver checks every 16 × 64 read against the end of W);
// - m not a multiple of 16: B columns past the strip's rows are zero, their sums dropped.
//
// Arithmetic: the panel form keeps the K blocks of every level (`KBlocks`, 768 columns,
// conv taps), and per block does `float(sum) · scale`, then `+ previous`, in that order,
// then the shared epilogue; the row form sums all of k, like the other levels' row
// kernels. So W8A8 output is bit-identical to every other level.
import CKernels

/// The strip driver: `rtk_amx_strip` (tile instructions) or `rtk_amx_emu_strip` (scalar model).
typealias AMXStripFn = (Int, Int, Int, UnsafePointer<Int8>, UnsafePointer<Int8>, Int, Int,
                        UnsafeMutablePointer<Int8>, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>, Int) -> Void

extension KernelSet.Tiles {
    var strip: AMXStripFn {
        switch self {
        case .hardware: return { rtk_amx_strip($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) }
        case .emulated: return { rtk_amx_emu_strip($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) }
        }
    }
}

/// Per-thread buffers of the AMX driver, carved from one scratch allocation.
private struct AMXScratch {
    let bpack: UnsafeMutablePointer<Int8>        // [packs][chunks][16 groups][16 rows][4]
    let scales: UnsafeMutablePointer<Float>      // [packs][16]
    let wpad: UnsafeMutablePointer<Int8>         // [16][64]
    let ctmp: UnsafeMutablePointer<Int32>        // [4][16][16]
    let sums: UnsafeMutablePointer<Int32>        // [16][64]
    let tile: UnsafeMutablePointer<Float>        // [tileRows][64]
    let ptrs: UnsafeMutablePointer<UnsafePointer<Int8>?>   // [16]
    let corr: UnsafeMutablePointer<Int32>        // [16]

    /// `packs` packed B strips of `chunks` 64-byte k chunks each.
    init(_ arena: ScratchArena, packs: Int, chunks: Int, tileRows: Int) {
        let bBytes = max(packs * chunks, 1) * 1024, sBytes = max(packs, 1) * 64, tileFloats = tileRows * Blocking.nc
        let raw = arena.buffer(bytes: bBytes + sBytes + 1024 + 1024 * 4 + 16 * 64 * 4 + tileFloats * 4 + 16 * 8 + 16 * 4 + 64)
        var o = 0
        bpack = (raw + o).bindMemory(to: Int8.self, capacity: bBytes); o += bBytes
        scales = (raw + o).bindMemory(to: Float.self, capacity: sBytes / 4); o += sBytes
        wpad = (raw + o).bindMemory(to: Int8.self, capacity: 1024); o += 1024
        ctmp = (raw + o).bindMemory(to: Int32.self, capacity: 1024); o += 1024 * 4
        sums = (raw + o).bindMemory(to: Int32.self, capacity: 16 * 64); o += 16 * 64 * 4
        tile = (raw + o).bindMemory(to: Float.self, capacity: tileFloats); o += tileFloats * 4
        ptrs = (raw + o).bindMemory(to: UnsafePointer<Int8>?.self, capacity: 16); o += 16 * 8
        corr = (raw + o).bindMemory(to: Int32.self, capacity: 16)
    }
}

/// `panelGemmI8` on tiles: the same tasks (`PanelTiling`, 64 columns = four 16-channel
/// slices), the same K blocks and the same float steps. The activations of a task's row
/// block are packed into the B layout once per thread and reused by all the thread's tasks
/// of that row block (tasks are numbered row block first, and each thread takes a
/// contiguous range), since packing a 64-byte chunk costs more than its four `tdpbssd`.
/// Buffer: 16-row strips × K blocks × the longest block's chunks, e.g. 16 × 5 × 12 KB
/// (≈ 1 MB) for 256 rows of k = 3456.
func amxPanelGemmI8<A: I8Rows>(m: Int, n: Int, ldw: Int, blocks: KBlocks, rows: A,
                               weights: UnsafePointer<Int8>, epilogue: Epilogue,
                               c: UnsafeMutablePointer<Float>, ldc: Int, ctx: ComputeContext,
                               tiles: KernelSet.Tiles) {
    let tiling = PanelTiling(m: m, n: n)
    let chunks = (blocks.maxKc + 63) / 64, strip = tiles.strip, wBytes = n * ldw
    let nb = blocks.count, strips = (tiling.mc + 15) / 16
    ctx.parallelForSlots(tiling.tasks) { tasks, slot in
        let ncp = Blocking.nc
        let s = AMXScratch(ctx.scratch[slot], packs: strips * nb, chunks: chunks, tileRows: tiling.mc)
        var packedRowBlock = -1
        for t in tasks {
            let mb = t / tiling.nBlocks, nbk = t % tiling.nBlocks
            let m0 = mb * tiling.mc, m1 = min(m, m0 + tiling.mc)
            let n0 = nbk * ncp, n1 = min(n, n0 + ncp)
            if mb != packedRowBlock {
                // pack [strip][block]: rows i ..< i + r of block bi, and their scales
                for (bi, blk) in blocks.enumerated() {
                    var i = m0
                    while i < m1 {
                        let r = min(16, m1 - i), pack = ((i - m0) / 16) * nb + bi
                        rows.strip(i, min(8, r), bi, s.ptrs, s.corr, s.scales + pack * 16)
                        if r > 8 { rows.strip(i + 8, r - 8, bi, s.ptrs + 8, s.corr + 8, s.scales + pack * 16 + 8) }
                        rtk_amx_pack_b(s.ptrs, r, blk.kc, s.bpack + pack * chunks * 1024)
                        i += r
                    }
                }
                packedRowBlock = mb
            }
            for (bi, blk) in blocks.enumerated() {
                let start = n0 * ldw + blk.k0
                var i = m0
                while i < m1 {
                    let r = min(16, m1 - i), pack = ((i - m0) / 16) * nb + bi
                    strip(r, n1 - n0, blk.kc, s.bpack + pack * chunks * 1024, weights + start, ldw, wBytes - start,
                          s.wpad, s.ctmp, s.sums, ncp)
                    scaleSums(rows: r, sums: s.sums, scale: s.scales + pack * 16, c: s.tile + (i - m0) * ncp,
                              accumulate: bi > 0)
                    i += r
                }
            }
            if blocks.isEmpty { s.tile.initialize(repeating: 0, count: tiling.mc * ncp) }
            epilogue.apply(tile: s.tile, ldt: ncp, rows: m1 - m0, n0: n0, cols: n1 - n0, c: c + m0 * ldc, ldc: ldc)
        }
    }
}

/// `rowGemmI8` on tiles (m ≤ `Blocking.smallM` rows of qa, kq bytes each, zero past k):
/// raw[i, j] = float(Σ_{p<k} W[j, p] · q[i, p]) · scale[i], the sum over all of k as in the
/// other levels' row kernels; the activations are packed once per thread.
func amxRowGemmI8(m: Int, n: Int, k: Int, qa: UnsafePointer<Int8>, kq: Int, scale: UnsafePointer<Float>,
                  w: UnsafePointer<Int8>, epilogue: Epilogue, c: UnsafeMutablePointer<Float>, ldc: Int,
                  ctx: ComputeContext, tiles: KernelSet.Tiles) {
    precondition(m <= 16, "amxRowGemmI8: at most 16 rows")
    let ncp = Blocking.nc, tasks = (n + ncp - 1) / ncp
    let chunks = (k + 63) / 64, strip = tiles.strip
    ctx.parallelForSlots(tasks) { range, slot in
        let s = AMXScratch(ctx.scratch[slot], packs: 1, chunks: chunks, tileRows: m)
        for i in 0..<m { s.ptrs[i] = qa + i * kq }
        rtk_amx_pack_b(s.ptrs, m, k, s.bpack)          // once per thread: the rows are the same for every task
        for t in range {
            let n0 = t * ncp, n1 = min(n, n0 + ncp)
            if k > 0 {
                strip(m, n1 - n0, k, s.bpack, w + n0 * k, k, (n - n0) * k, s.wpad, s.ctmp, s.sums, ncp)
            } else {
                s.sums.initialize(repeating: 0, count: m * ncp)
            }
            scaleSums(rows: m, sums: s.sums, scale: scale, c: s.tile, accumulate: false)
            epilogue.apply(tile: s.tile, ldt: ncp, rows: m, n0: n0, cols: n1 - n0, c: c, ldc: ldc)
        }
    }
}

// The GEMM engine behind `matmul`, `sgemm` and `conv3x3`: task tiling, weight packing,
// microkernel loops and the fused epilogue. GemmI8.swift holds its int8 side (activation
// quantization and the W8A8 panel loop).
//
// Two forms:
// - Panel form (m > smallM): tasks of (mc rows x nc columns). Each task packs its weight
//   block per K block into 32-column panels (float32, or the level's int8 layout), then
//   runs the register-blocked microkernels over strips of rows (8; 6 for the float kernels
//   of the ymm and NEON levels) into a float tile, and finally applies the epilogue into C.
//   AMX contexts hand W8A8 to AMXGemm.swift.
// - Row form (m <= smallM, e.g. the generator's 3 to 6 rows; GemmRows.swift): no packing;
//   tasks of nc columns, each weight row read straight from memory and dotted with up to 6
//   activation rows at a time.
//
// The tiling depends on the shape only, never on the thread count, and every output is one
// FMA chain (or exact integer sum) per K block with the blocks added in order (the row form:
// one sum over all of k), so results are bit-identical for any number of threads.
// docs/kernels.md ("Blocking and threading") gives the measurements behind this order.
import CKernels

/// Block sizes, chosen for Zen 4 (32 KB L1d, 1 MB L2 per core).
enum Blocking {
    /// K block of float panels: a 32-column panel is kcF32 * 128 bytes (L1 resident).
    static let kcF32 = 192
    /// K block of int8 panels (multiple of 64): a 32-column panel is kcI8 * 32 bytes.
    static let kcI8 = 768
    /// Columns per task (multiple of 32).
    static let nc = 64
    /// Rows per task when m is large; m <= mcWhole keeps all rows in one task.
    static let mc = 256
    static let mcWhole = 512
    /// At most this many rows use the row form.
    static let smallM = 8
}

/// One block of the K dimension: columns [k0, k0 + kc) of W, and the index the row
/// sources use to find the matching activations.
struct KBlock { var k0: Int; var kc: Int }

/// The K blocks of one product, computed on demand (no array, so a matmul call allocates
/// nothing): `taps` groups of `span` columns each, every group cut into chunks of at most
/// `kc`. Block i is chunk `i % chunks` of group `i / chunks`, so K = taps · span in order.
/// A plain GEMM is one group (`taps` = 1, `span` = k); a 3×3 convolution has 9 taps of
/// `span` = cin channels.
struct KBlocks: RandomAccessCollection {
    let span: Int, kc: Int, taps: Int
    /// Chunks per group.
    var chunks: Int { span == 0 ? 0 : (span + kc - 1) / kc }
    var startIndex: Int { 0 }
    var endIndex: Int { taps * chunks }
    subscript(i: Int) -> KBlock {
        let c0 = (i % chunks) * kc
        return KBlock(k0: (i / chunks) * span + c0, kc: Swift.min(kc, span - c0))
    }
    /// Group (tap) and first column within the group of block i.
    func position(_ i: Int) -> (tap: Int, c0: Int) { (i / chunks, (i % chunks) * kc) }
    /// The longest block.
    var maxKc: Int { span == 0 ? 0 : Swift.min(kc, span) }
}

/// Float activations for the panel form: for rows i0 ..< i0 + count (count ≤ 8) of block b,
/// pointers to kc readable floats each.
protocol F32Rows {
    func strip(_ i0: Int, _ count: Int, _ b: Int, _ ptrs: UnsafeMutablePointer<UnsafePointer<Float>>)
}

/// Quantized activations for the panel form: for rows i0 ..< i0 + count (count ≤ the level's
/// `KernelSet.I8.stripRows`, at most 32) of block b, the signed bytes (kc rounded up to 4
/// readable, zero past kc), the correction 128·Σ bytes, and the row scale.
protocol I8Rows {
    func strip(_ i0: Int, _ count: Int, _ b: Int, _ ptrs: UnsafeMutablePointer<UnsafePointer<Int8>?>,
               _ corr: UnsafeMutablePointer<Int32>, _ scale: UnsafeMutablePointer<Float>)
}

/// What happens to a raw tile value t[i, j] on its way to C:
/// C[i, j] (= or +=) colScale[j] · act(alpha · t[i, j] · wScale[j] + bias[j]).
struct Epilogue {
    var alpha: Float = 1
    var wScale: UnsafePointer<Float>?
    var bias: UnsafePointer<Float>?
    var colScale: UnsafePointer<Float>?
    var activation: Activation
    var accumulate: Bool

    /// How far ahead `apply` fetches C rows (rows; about the latency of a line from memory at
    /// one row's work per line).
    static let prefetchRows = 8

    /// Only the weight rows' scales (and accumulation): what an int8 kernel can apply as it
    /// stores, with the same two float steps (`I8Call.fin`).
    var scalesOnly: Bool {
        alpha == 1 && wScale != nil && bias == nil && colScale == nil && activation == .none
    }

    /// One 16-lane chunk of a tile row through the epilogue, given the chunk's
    /// per-column vectors (nil when the epilogue has none). `@_transparent`, not
    /// `@inline(__always)`: Swift 6.0 kept it out of line, passing its optional vectors
    /// through memory (the W8A8 encoder took 1.4 times as long; see also vgelu).
    @_transparent
    func transform(_ t: SIMD16<Float>, ws: SIMD16<Float>?, bs: SIMD16<Float>?, cs: SIMD16<Float>?) -> SIMD16<Float> {
        var v = alpha == 1 ? t : t * alpha
        if let ws { v *= ws }
        if let bs { v += bs }
        v = activation.apply(v)
        if let cs { v *= cs }
        return v
    }

    /// Applies the epilogue to rows [0, rows) x columns [0, cols) of tile (row stride ldt),
    /// writing C columns [n0, n0 + cols). Columns go in chunks of 16 from n0, so a given
    /// column always takes the same path (the same lane arithmetic as `transform`).
    /// Chunk-major: the per-column vectors (scales, bias) are loaded once per chunk, and
    /// a short last chunk reads its tile rows whole (the tile row has room for 16 floats
    /// there; lanes past cols are computed and dropped), so narrow outputs such as the
    /// generator's 9 token-mixing columns do not pay scalar lane-by-lane loads per row.
    ///
    /// Each C row's chunk is fetched `prefetchRows` rows ahead: C is the next layer's input or
    /// the residual stream, usually out of L2 by now, and its rows are ldc apart, a stride the
    /// hardware prefetchers follow late; without it the stores and residual reads waited on
    /// memory.
    func apply(tile: UnsafePointer<Float>, ldt: Int, rows: Int, n0: Int, cols: Int,
               c: UnsafeMutablePointer<Float>, ldc: Int) {
        var j = 0
        while j < cols {
            let cnt = min(16, cols - j), col = n0 + j
            // Per-column vectors of this chunk: [16], lanes past cnt 0.
            let ws = wScale.map { cnt == 16 ? load16($0 + col) : loadPartial($0 + col, cnt) }
            let bs = bias.map { cnt == 16 ? load16($0 + col) : loadPartial($0 + col, cnt) }
            let cs = colScale.map { cnt == 16 ? load16($0 + col) : loadPartial($0 + col, cnt) }
            let wholeTile = j + 16 <= ldt
            for i in 0..<rows {
                let t = tile + i * ldt + j, o = c + i * ldc + col
                if i + Epilogue.prefetchRows < rows { rtk_prefetch_write(o + Epilogue.prefetchRows * ldc) }
                let raw = wholeTile ? load16(t) : loadPartial(t, cnt)
                var v = transform(raw, ws: ws, bs: bs, cs: cs)
                if accumulate { v += cnt == 16 ? load16(o) : loadPartial(o, cnt) }
                if cnt == 16 { store16(v, o) } else { storePartial(v, o, cnt) }
            }
            j += 16
        }
    }
}

/// Row-major int8 or float weights [n, k] (the packing sources).
enum WeightSource {
    case f32(UnsafePointer<Float>)
    case i8(UnsafePointer<Int8>)

    var raw: UnsafeRawPointer {
        switch self { case .f32(let p): return UnsafeRawPointer(p); case .i8(let p): return UnsafeRawPointer(p) }
    }
    var elementBytes: Int {
        switch self { case .f32: return 4; case .i8: return 1 }
    }
}

// MARK: packing

/// Float panels [ceil(nc/32)][kc][32] of W rows [0, nc) (already offset to the block),
/// row stride ldw elements; columns past nc are 0.
func packF32(_ w: WeightSource, ldw: Int, nc: Int, kc: Int, into out: UnsafeMutablePointer<Float>,
             with pack: KernelSet.Pack) {
    switch w {
    case .i8(let p): pack.fromI8(p, ldw, nc, kc, out)
    case .f32(let p): pack.fromF32(p, ldw, nc, kc, out)
    }
}

// MARK: panel form
/// Rows of the next strip of the float panel form when `left` rows remain and the kernel
/// takes `height`: a whole strip, except that a remainder of less than half a strip is shared
/// with the strip before it (257 rows in strips of 8: 31 × 8, then 5 and 4, not 32 × 8 and
/// 1). A strip of one or two rows runs too few FMA chains to hide the FMA's latency: the one
/// row of 257 took 1.2 % of a W8A32 decoder step, and the split saved 0–2.6 % of the
/// kernel's samples (perf, four runs). The strip count and every row's sums stay the same.
/// (The int8 kernels keep 8 + 1: the same split measured no better there.)
@inline(__always)
func stripRows(left: Int, height: Int) -> Int {
    left > height && left < height + height / 2 ? (left + 1) / 2 : min(height, left)
}

/// C tile geometry of the panel form.
struct PanelTiling {
    let m: Int, n: Int, mc: Int, mBlocks: Int, nBlocks: Int
    init(m: Int, n: Int) {
        self.m = m; self.n = n
        mc = m <= Blocking.mcWhole ? max(m, 1) : Blocking.mc
        mBlocks = (m + mc - 1) / mc
        nBlocks = (n + Blocking.nc - 1) / Blocking.nc
    }
    var tasks: Int { mBlocks * nBlocks }

    /// Task t's rows [m0, m1), its column block nb and columns [n0, n1) (column blocks vary
    /// fastest, so consecutive tasks share their rows).
    func task(_ t: Int) -> (m0: Int, m1: Int, nb: Int, n0: Int, n1: Int) {
        let mb = t / nBlocks, nb = t % nBlocks
        let m0 = mb * mc, n0 = nb * Blocking.nc
        return (m0, Swift.min(m, m0 + mc), nb, n0, Swift.min(n, n0 + Blocking.nc))
    }
}

/// Float32 panel GEMM: raw[i, j] = Σ_p A[i, p] · W[j, p] (W as stored, int8 widened),
/// then the epilogue into C.
/// - Parameter prepacked: W already in float panels by `prepackF32` (the same values the
///   tasks would pack), or nil for each task to pack its own.
func panelGemmF32<A: F32Rows>(m: Int, n: Int, ldw: Int, blocks: KBlocks, rows: A,
                              weights: WeightSource, epilogue: Epilogue,
                              c: UnsafeMutablePointer<Float>, ldc: Int, ctx: ComputeContext,
                              prepacked: UnsafePointer<Float>? = nil) {
    let tiling = PanelTiling(m: m, n: n)
    let maxKc = blocks.maxKc
    let kernels = ctx.kernels, strip = kernels.f32Strip
    // the last quarter of the tasks goes to whichever thread is free: on a shared host one
    // vCPU often loses time to a neighbour, and an even split then left the other waiting
    ctx.parallelForBalanced(tiling.tasks) { tasks, slot in
        let ncp = Blocking.nc
        let panelFloats = ncp * maxKc, tileFloats = tiling.mc * ncp
        let raw = ctx.scratch[slot].buffer(bytes: (panelFloats + tileFloats) * 4 + 8 * 8 + 64)
        let panel = raw.bindMemory(to: Float.self, capacity: panelFloats + tileFloats)
        let tile = panel + panelFloats
        let ptrs = (raw + (panelFloats + tileFloats) * 4).bindMemory(to: UnsafePointer<Float>.self, capacity: 8)
        for t in tasks {
            let (m0, m1, nb, n0, n1) = tiling.task(t)
            let panels = (n1 - n0 + 31) / 32
            for (bi, blk) in blocks.enumerated() {
                // W[n0..<n1, k0..<k0+kc] as float panels
                let wPanels = prepacked.map { $0 + prepackedOffset(nb: nb, k0: blk.k0, blocks: blocks) }
                    ?? UnsafePointer(packedPanel(weights, ldw: ldw, n0: n0, nc: n1 - n0, blk: blk, into: panel, with: kernels.pack))
                let ahead = prepacked == nil
                    ? WeightPrefetch(weights: weights.raw, elementBytes: weights.elementBytes, ldw: ldw, tiling: tiling,
                                     blocks: blocks, task: t, block: bi, tasks: tasks, strips: (m1 - m0 + strip - 1) / strip)
                    : WeightPrefetch()
                // strips of the microkernel's height x every panel
                var i = m0, part = 0
                while i < m1 {
                    let r = stripRows(left: m1 - i, height: strip)
                    ahead.run(part: part)
                    part += 1
                    rows.strip(i, r, bi, ptrs)
                    for jp in 0..<panels {
                        kernels.f32Kernel(rows: r, nv: 2, kc: blk.kc, a: UnsafePointer(ptrs), aStep: 1,
                                          b: wPanels + jp * blk.kc * 32, ldb: 32,
                                          c: tile + (i - m0) * ncp + jp * 32, ldc: ncp, accumulate: bi > 0)
                    }
                    if bi == blocks.count - 1 {   // the strip's tile rows are final: into C while in L1
                        epilogue.apply(tile: tile + (i - m0) * ncp, ldt: ncp, rows: r, n0: n0, cols: n1 - n0,
                                       c: c + i * ldc, ldc: ldc)
                    }
                    i += r
                }
            }
            if blocks.isEmpty {
                for z in 0..<(tileFloats) { tile[z] = 0 }
                epilogue.apply(tile: tile, ldt: ncp, rows: m1 - m0, n0: n0, cols: n1 - n0,
                               c: c + m0 * ldc, ldc: ldc)
            }
        }
    }
}

/// The weight block a panel task packs after the current one, fetched into L2 a slice per strip
/// while the current block computes, so the next packing reads L2 instead of waiting on memory
/// (packing was the first touch of each weight byte: 17 % of a W8A8 decoder step in
/// `rtk_pack_vnni`, perf on Zen 5). Covers W[n0 ..< n0 + rows, k0 ..< k0 + kc], `elementBytes`
/// per weight, row stride ldw elements.
struct WeightPrefetch {
    private var base: UnsafeRawPointer? = nil
    private var rowBytes = 0, lines = 0, linesPerRow = 1, stride = 0, parts = 1

    /// Prefetches nothing.
    init() {}

    /// The block after (task t, block bi) in this thread's range `tasks`: the next K block of
    /// the same columns, else the first block of the next task's columns; nothing at the end.
    /// Spread over `strips` calls of `run`.
    init(weights: UnsafeRawPointer, elementBytes: Int, ldw: Int, tiling: PanelTiling, blocks: KBlocks,
         task t: Int, block bi: Int, tasks: Range<Int>, strips: Int) {
        guard let next = WeightPrefetch.following(task: t, block: bi, blocks: blocks, tasks: tasks) else { return }
        let blk = blocks[next.block]
        let (_, _, _, n0, n1) = tiling.task(next.task)
        base = weights + (n0 * ldw + blk.k0) * elementBytes
        rowBytes = blk.kc * elementBytes
        linesPerRow = (rowBytes + 63) / 64 + 1       // +1: a row need not start on a line
        lines = (n1 - n0) * linesPerRow
        stride = ldw * elementBytes
        parts = max(strips, 1)
    }

    /// The `I8Panels` block after (task t, block bi) in this thread's range, chosen as above:
    /// its panels are one contiguous run, fetched as a single row.
    init(panelsAfter panels: UnsafeRawPointer, tiling: PanelTiling, blocks: KBlocks, k: Int,
         task t: Int, block bi: Int, tasks: Range<Int>, strips: Int) {
        guard let next = WeightPrefetch.following(task: t, block: bi, blocks: blocks, tasks: tasks) else { return }
        let (_, _, nb, n0, n1) = tiling.task(next.task)
        base = panels + I8Panels.offset(nb: nb, block: next.block, k: k)
        rowBytes = (n1 - n0 + 31) / 32 * ((blocks[next.block].kc + 3) / 4) * 128
        linesPerRow = (rowBytes + 63) / 64
        lines = linesPerRow
        stride = 0
        parts = max(strips, 1)
    }

    /// The (task, K block) a thread works on after (t, bi) in its range `tasks`: the next K block
    /// of the same columns, else the first block of the next task; nil at the end of the range.
    private static func following(task t: Int, block bi: Int, blocks: KBlocks,
                                  tasks: Range<Int>) -> (task: Int, block: Int)? {
        let next = bi + 1 < blocks.count ? (t, bi + 1) : (t + 1, 0)
        guard next.0 < tasks.upperBound, !blocks.isEmpty else { return nil }
        return next
    }

    /// Issues slice `part` of the block (one per strip of the current block).
    @inline(__always)
    func run(part: Int) {
        guard let base else { return }
        let l0 = lines * part / parts, l1 = lines * (part + 1) / parts
        if stride == 0 {      // one contiguous run (I8Panels)
            rtk_prefetch_l2_lines(base, rowBytes, l0, l1)
            return
        }
        var row = l0 / linesPerRow, line = l0 % linesPerRow
        for _ in l0..<l1 {
            rtk_prefetch_l2(base + row * stride + min(line * 64, rowBytes - 1))
            line += 1
            if line == linesPerRow { line = 0; row += 1 }
        }
    }
}

/// Packs W[n0 ..< n0 + nc, blk] into float panels at `out` and returns `out`.
@inline(__always)
private func packedPanel(_ weights: WeightSource, ldw: Int, n0: Int, nc: Int, blk: KBlock,
                         into out: UnsafeMutablePointer<Float>, with pack: KernelSet.Pack) -> UnsafeMutablePointer<Float> {
    let src: WeightSource
    switch weights {
    case .f32(let p): src = .f32(p + n0 * ldw + blk.k0)
    case .i8(let p): src = .i8(p + n0 * ldw + blk.k0)
    }
    packF32(src, ldw: ldw, nc: nc, kc: blk.kc, into: out, with: pack)
    return out
}

/// Where `prepackF32` puts the panels of column block nb and the K block starting at k0:
/// column blocks of `Blocking.nc` columns × all of K, one after another, each holding its K
/// blocks in order ([panels][kc][32] each).
@inline(__always)
private func prepackedOffset(nb: Int, k0: Int, blocks: KBlocks) -> Int {
    Blocking.nc * (nb * blocks.taps * blocks.span + k0)
}

/// Floats `prepackF32` writes for n columns: up to where a column block past the last would start.
func prepackedF32Count(n: Int, blocks: KBlocks) -> Int {
    prepackedOffset(nb: (n + Blocking.nc - 1) / Blocking.nc, k0: 0, blocks: blocks)
}

/// Packs all of W (n rows of K = taps · span, row stride ldw) into float panels once, in
/// parallel over (column block, K block), for a product whose row blocks would otherwise each
/// pack the same panels again: a convolution over 256² pixels has 256 row blocks, and packing
/// per block took 6 % of the VAE's time. Same panels, same products: the output is unchanged.
func prepackF32(weights: WeightSource, n: Int, ldw: Int, blocks: KBlocks,
                into out: UnsafeMutablePointer<Float>, ctx: ComputeContext) {
    let nBlocks = (n + Blocking.nc - 1) / Blocking.nc, count = blocks.count
    let pack = ctx.kernels.pack
    ctx.parallelFor(nBlocks * count) { range in
        for t in range {
            let nb = t / count, blk = blocks[t % count]
            let n0 = nb * Blocking.nc, nc = min(n, n0 + Blocking.nc) - n0
            _ = packedPanel(weights, ldw: ldw, n0: n0, nc: nc, blk: blk,
                            into: out + prepackedOffset(nb: nb, k0: blk.k0, blocks: blocks), with: pack)
        }
    }
}

/// K split into blocks of at most `kc` (the last one shorter).
func uniformBlocks(k: Int, kc: Int) -> KBlocks {
    KBlocks(span: k, kc: kc, taps: 1)
}

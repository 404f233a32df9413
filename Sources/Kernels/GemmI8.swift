// The int8 side of the GEMM engine (W8A8): activations quantized per row, the rows prepared
// for the level's panel kernel, and the panel form's task loop over K blocks, row strips and
// 32-column panels (Gemm.swift has the blocking, the tiling and the epilogue it shares with
// the float form; AMXGemm.swift the AMX tiles; GemmRows.swift the row form).
import CKernels

// MARK: activation quantization

/// Quantizes row x[0..<k] into q[0..<kq] (zero past k) exactly like `Reference.quantizeRow`,
/// and returns its scale; sums[b] = 128 · Σ q over block b of `blockLen` bytes. The two
/// special rows of `Reference.quantizeRow` give q = 0: scale NaN for a row holding NaN or ±∞,
/// scale 0 for a row of zeros or of values too small to scale (max|x| < 127 / Float.max).
@inline(__always)
func quantizeRowFast(_ x: UnsafePointer<Float>, k: Int, kq: Int, into q: UnsafeMutablePointer<Int8>,
                     blockLen: Int, sums: UnsafeMutablePointer<Int32>) -> Float {
    // max|x|, and x·0 summed so that NaN or ±∞ anywhere leaves a NaN (max would skip a NaN)
    var mx = SIMD16<Float>(), finite = SIMD16<Float>()
    var p = 0
    while p + 16 <= k { let v = load16(x + p); mx = vmax(mx, vabs(v)); finite += v * 0; p += 16 }
    var amax = hmax(mx), tail: Float = 0
    while p < k { amax = max(amax, abs(x[p])); tail += x[p] * 0; p += 1 }
    let nb = (k + blockLen - 1) / blockLen
    let isFinite = (finite.sum() + tail).isFinite
    let inv = 127 / amax
    guard isFinite, amax > 0, inv.isFinite else {
        q.initialize(repeating: 0, count: kq)
        for b in 0..<max(nb, 1) { sums[b] = 0 }
        return isFinite ? 0 : .nan
    }
    let lim = SIMD16<Int32>(repeating: 127)
    p = 0
    while p + 16 <= k {
        // |x·inv| <= 127 (+ rounding), so the rounded value needs no clamp beyond ±127
        let r = vroundToInt32(load16(x + p) * inv)
        let lo = SIMD16<Int32>(repeating: -127)
        let v = vnarrow(r.replacing(with: lim, where: r .> lim).replacing(with: lo, where: r .< lo))
        UnsafeMutableRawPointer(q + p).storeBytes(of: v, as: SIMD16<Int8>.self)
        p += 16
    }
    while p < k {
        q[p] = Int8(max(-127, min(127, (x[p] * inv).rounded(.toNearestOrEven))))
        p += 1
    }
    for z in k..<kq { q[z] = 0 }
    for b in 0..<nb {
        var s: Int32 = 0
        for z in (b * blockLen)..<min(k, (b + 1) * blockLen) { s &+= Int32(q[z]) }
        sums[b] = 128 &* s
    }
    return amax / 127
}

// MARK: panel form

/// Rows in the form `scheme`'s panel kernel reads, made once per call (the pair form: each
/// int8 row widened to int16 pairs, `KernelSet.I8.prepare`); the row's K blocks of
/// `blockLen` inputs each get their correction in `terms` (replacing `quantizeRowFast`'s
/// sums, which only biased kernels read). Row bytes double: input p of `q` is at 2p in `out`.
@inline(__always)
func prepareRow(_ prepare: I8PrepareFn, _ q: UnsafePointer<Int8>, k: Int, blockLen: Int,
                into out: UnsafeMutablePointer<Int8>, terms: UnsafeMutablePointer<Int32>) {
    var b = 0, p0 = 0
    repeat {
        let kc = min(blockLen, k - p0)
        prepare((kc + 3) / 4, q + p0, UnsafeMutableRawPointer(out + 2 * p0), terms + b)
        b += 1; p0 += blockLen
    } while p0 < k
}

/// Int8 panel GEMM: raw[i, j] = Σ_blocks scale_i,b · Σ_p q_a[i, p] · W[j, p] (exact Int32
/// within a block), then the epilogue (which multiplies by the weight row scales). Every
/// level computes the same block sums and the same float steps (`float(sum) · scale`, then
/// `+ previous`), so the output is bit-identical across levels.
/// - Parameter prepacked: W already in this level's panels by `I8Panels` (blocks must then be
///   `uniformBlocks(k: ldw, kc: Blocking.kcI8)`), or nil for each task to pack its own.
func panelGemmI8<A: I8Rows>(m: Int, n: Int, ldw: Int, blocks: KBlocks, rows: A,
                            weights: UnsafePointer<Int8>, epilogue: Epilogue,
                            c: UnsafeMutablePointer<Float>, ldc: Int, ctx: ComputeContext,
                            prepacked: UnsafeRawPointer? = nil) {
    if let tiles = ctx.kernels.tiles {
        return amxPanelGemmI8(m: m, n: n, ldw: ldw, blocks: blocks, rows: rows, weights: weights, epilogue: epilogue,
                              c: c, ldc: ldc, ctx: ctx, tiles: tiles)
    }
    let tiling = PanelTiling(m: m, n: n)
    let scheme = ctx.kernels.i8
    // the last quarter of the tasks goes to whichever thread is free: on a shared host one
    // vCPU often loses time to a neighbour, and an even split then left the other waiting
    ctx.parallelForBalanced(tiling.tasks) { tasks, slot in
        let s = I8TaskScratch(ctx.scratch[slot], mc: tiling.mc, maxKc: blocks.maxKc, scheme: scheme)
        for t in tasks {
            let (m0, m1, nb, n0, n1) = tiling.task(t)
            // whole 32-column panels and a scales-only epilogue: the last block writes C itself
            let fused = (n1 - n0) % 32 == 0 && epilogue.scalesOnly && scheme.fuses
            let panelCount = (n1 - n0 + 31) / 32, strips = (m1 - m0 + 7) / 8, height = scheme.stripRows
            for (bi, blk) in blocks.enumerated() {
                let kc4 = (blk.kc + 3) / 4
                s.call.pointee = I8Call(kc4: kc4, a: s.ptrs, corr: s.corr, scale: s.scale, ldc: Blocking.nc,
                                        accumulate: bi > 0 ? 1 : 0)
                // W[n0..<n1, blk] in the kernel's panels, and the prefetch of what comes next
                let wPanels: UnsafeRawPointer, ahead: WeightPrefetch
                if let prepacked {
                    wPanels = prepacked + I8Panels.offset(nb: nb, block: bi, k: ldw)
                    ahead = WeightPrefetch(panelsAfter: prepacked, tiling: tiling, blocks: blocks, k: ldw,
                                           task: t, block: bi, tasks: tasks, strips: strips)
                } else {
                    scheme.pack(weights + n0 * ldw + blk.k0, ldw, n1 - n0, blk.kc, s.raw)
                    wPanels = UnsafeRawPointer(s.raw)
                    ahead = WeightPrefetch(weights: UnsafeRawPointer(weights), elementBytes: 1, ldw: ldw, tiling: tiling,
                                           blocks: blocks, task: t, block: bi, tasks: tasks, strips: strips)
                }
                let panels = s.kernelPanels(wPanels, kc4: kc4, count: panelCount)
                var i = m0
                while i < m1 {
                    let r = min(height, m1 - i)
                    // one prefetch slice per 8 rows, as the strips of 8 have
                    for part in (i - m0) / 8 ..< (i - m0 + r + 7) / 8 { ahead.run(part: part) }
                    rows.strip(i, r, bi, s.ptrs, s.corr, s.scale)
                    if scheme.isFloatExact { s.widenStrip(rows: r, kc: blk.kc) }
                    for jp in 0..<panelCount {
                        let cc = s.tile + (i - m0) * Blocking.nc + jp * 32
                        if let kernel = scheme.kernel {
                            let panel = panels + jp * scheme.kernelPanelBytes(kc4: kc4)
                            if fused, bi == blocks.count - 1, let ws = epilogue.wScale {
                                let col = n0 + jp * 32
                                var fin = rtk_i8_final(ws: ws + col, out: c + i * ldc + col, ldo: ldc,
                                                       accumulate: epilogue.accumulate ? 1 : 0)
                                kernel(r, panel, cc, &fin, s.call)
                            } else {
                                kernel(r, panel, cc, nil, s.call)
                            }
                        } else {
                            floatExactBlock(rows: r, kc: blk.kc, a: UnsafePointer(s.fptrs),
                                            panel: s.raw.assumingMemoryBound(to: Float.self) + jp * blk.kc * 32,
                                            scale: s.scale, blockTile: s.blockTile, c: cc, ldc: Blocking.nc,
                                            accumulate: bi > 0)
                        }
                    }
                    i += r
                }
            }
            if blocks.isEmpty { s.tile.initialize(repeating: 0, count: tiling.mc * Blocking.nc) }
            if !fused || blocks.isEmpty {
                epilogue.apply(tile: s.tile, ldt: Blocking.nc, rows: m1 - m0, n0: n0, cols: n1 - n0,
                               c: c + m0 * ldc, ldc: ldc)
            }
        }
    }
}

/// One task slot's scratch for `panelGemmI8`, carved from the slot's buffer once per call.
/// Layout (bytes): the packed panels (when not prepacked), the C tile, the generic level's
/// strip, the strip's pointers, corrections and scales, the call descriptor, and the pair
/// form's staged panels last.
private struct I8TaskScratch {
    /// Packed weight panels of one K block: int8 [panels][kc4][32][4], or the generic level's
    /// floats [panels][kc][32].
    let raw: UnsafeMutableRawPointer
    /// The task's C tile [mc][Blocking.nc].
    let tile: UnsafeMutablePointer<Float>
    /// Generic level only: the strip's activations as floats [8][maxKc4 · 4] and one block
    /// tile [8][32].
    let stripA: UnsafeMutablePointer<Float>, blockTile: UnsafeMutablePointer<Float>
    /// The strip's row pointers (as `I8Rows.strip` fills them) and, at the generic level,
    /// their widened copies.
    let ptrs: UnsafeMutablePointer<UnsafePointer<Int8>?>, fptrs: UnsafeMutablePointer<UnsafePointer<Float>>
    let corr: UnsafeMutablePointer<Int32>, scale: UnsafeMutablePointer<Float>
    let call: UnsafeMutablePointer<I8Call>
    /// The pair form's staged panels of one K block (`KernelSet.I8.stage`).
    let staged: UnsafeMutableRawPointer
    private let stage: KernelSet.I8.Stage?, stripStride: Int

    init(_ buffer: ScratchArena, mc: Int, maxKc: Int, scheme: KernelSet.I8) {
        let ncp = Blocking.nc, maxKc4 = (maxKc + 3) / 4
        let floatExact = scheme.isFloatExact
        let panelBytes = floatExact ? ncp * maxKc * 4 : ncp * maxKc4 * 4
        let stagedBytes = scheme.stage.map { ncp / 32 * $0.bytes(maxKc4) } ?? 0
        let tileFloats = mc * ncp
        let stripFloats = floatExact ? 8 * maxKc4 * 4 + 8 * 32 : 0
        // the strip's pointers, the generic level's widened pointers, corrections, scales,
        // then the call; in all a multiple of 64 bytes, so that the staged panels after it
        // start on a cache line (at 48 bytes past one, every other ymm load of them crossed two)
        let h = KernelSet.I8.maxStripRows
        let fptrsAt = h * 8, corrAt = fptrsAt + 8 * 8, scaleAt = corrAt + h * 4, callAt = scaleAt + h * 4
        let extraBytes = (callAt + MemoryLayout<I8Call>.stride + 63) / 64 * 64
        raw = buffer.buffer(bytes: panelBytes + (tileFloats + stripFloats) * 4 + extraBytes + stagedBytes)
        tile = (raw + panelBytes).bindMemory(to: Float.self, capacity: tileFloats + stripFloats)
        stripStride = maxKc4 * 4
        stripA = tile + tileFloats
        blockTile = stripA + 8 * stripStride
        let extra = raw + panelBytes + (tileFloats + stripFloats) * 4
        ptrs = extra.bindMemory(to: UnsafePointer<Int8>?.self, capacity: h)
        fptrs = (extra + fptrsAt).bindMemory(to: UnsafePointer<Float>.self, capacity: 8)
        corr = (extra + corrAt).bindMemory(to: Int32.self, capacity: h)
        scale = (extra + scaleAt).bindMemory(to: Float.self, capacity: h)
        call = (extra + callAt).bindMemory(to: I8Call.self, capacity: 1)
        staged = extra + extraBytes
        stage = scheme.stage
    }

    /// The panels the kernel reads: `wPanels` itself, or (the pair form) `count` panels
    /// staged from it into `staged`.
    func kernelPanels(_ wPanels: UnsafeRawPointer, kc4: Int, count: Int) -> UnsafeRawPointer {
        guard let stage else { return wPanels }
        for jp in 0..<count {
            stage.run(kc4, wPanels + jp * kc4 * 128, staged + jp * stage.bytes(kc4))
        }
        return UnsafeRawPointer(staged)
    }

    /// Generic level: the strip's int8 activations as floats (exact) in `stripA`, once for
    /// all panels, with `fptrs` pointing at them.
    func widenStrip(rows r: Int, kc: Int) {
        for z in 0..<r {
            let dst = stripA + z * stripStride
            fptrs[z] = UnsafePointer(dst)
            // (strip() fills every row it is asked for; an empty one would count as zeros)
            guard let src = ptrs[z] else { dst.initialize(repeating: 0, count: kc); continue }
            var p = 0
            while p + 16 <= kc {
                store16(vfloat(UnsafeRawPointer(src + p).loadUnaligned(as: SIMD16<Int8>.self)), dst + p)
                p += 16
            }
            while p < kc { dst[p] = Float(src[p]); p += 1 }
        }
    }
}

/// The generic level's int8 block: int8 values times int8 weights, both held as floats,
/// summed by the float microkernel. Every product is an integer of magnitude ≤ 127² and
/// every partial sum an integer of magnitude ≤ kc · 127² ≤ 768 · 16129 < 2^24, so each
/// fused multiply-add is exact and the block sum equals the int32 sum of the other
/// levels; then c (= or +=) sum · scale[i], the same two float steps as their kernels.
@inline(__always)
func floatExactBlock(rows r: Int, kc: Int, a: UnsafePointer<UnsafePointer<Float>>,
                     panel: UnsafePointer<Float>, scale: UnsafePointer<Float>,
                     blockTile: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
                     accumulate: Bool) {
    precondition(kc <= Blocking.kcI8, "floatExactBlock: K block too long for exact float sums")
    f32Microkernel(rows: r, nv: 2, kc: kc, a: a, aStep: 1, b: panel, ldb: 32, c: blockTile, ldc: 32,
                   accumulate: false)
    for z in 0..<r {
        let s = scale[z], ci = c + z * ldc, bt = blockTile + z * 32
        var v0 = load16(bt) * s, v1 = load16(bt + 16) * s
        if accumulate { v0 += load16(ci); v1 += load16(ci + 16) }
        store16(v0, ci); store16(v1, ci + 16)
    }
}

/// c[i*64 + j] (= or +=) float(sums[i*64 + j] − corr[i]) · scale[i] for i < rows, j < 64
/// (`Blocking.nc`, the row stride of both): the two float steps of every level's int8 block,
/// in the same order (no fused multiply-add). corr: the +128 correction of a biased kernel's
/// sums, nil for exact ones. Whole 64-column rows, also past a task's last column (the
/// epilogue drops those lanes).
@inline(__always)
func scaleSums(rows: Int, sums: UnsafePointer<Int32>, corr: UnsafePointer<Int32>? = nil, scale: UnsafePointer<Float>,
               c: UnsafeMutablePointer<Float>, accumulate: Bool) {
    let ncp = Blocking.nc
    for z in 0..<rows {
        let sc = SIMD16<Float>(repeating: scale[z]), cr = SIMD16<Int32>(repeating: corr?[z] ?? 0)
        for j in stride(from: 0, to: ncp, by: 16) {
            let si = UnsafeRawPointer(sums + z * ncp + j).loadUnaligned(as: SIMD16<Int32>.self)
            var v = SIMD16<Float>(si &- cr) * sc
            if accumulate { v += load16(c + z * ncp + j) }
            store16(v, c + z * ncp + j)
        }
    }
}

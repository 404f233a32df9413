// Multi-head softmax attention with a streaming ("online") softmax.
//
// Each call first copies K and V of every head into contiguous rows: in the caller's layout
// consecutive keys sit a whole qkv row apart (13.8 KB in the decoder), so a key tile touched
// one page per key. Per head, with d = d16 + rem (d16 a multiple of 16, rem < 16):
//   kp [tokens][d]      the keys,
//   vp [tokens][d16]    the values' whole 16-column panels,
//   vT [rem][tokens]    the values' last rem columns, transposed.
//
// Work is then split into tasks of (head, block of 32 queries) — fixed by the shape, so the
// result does not depend on the thread count. A task keeps, for its queries:
//   qT [d][32]    the queries, transposed (by the level's panel packing) and scaled,
//   o  [32][d16]  the unnormalized output's panel columns, one row per query,
//   oT [rem][32]  its last rem columns, one row per column,
//   m, l          the running max and sum of exponentials (one lane per query),
// and walks the keys in tiles of 128 (the last one up to 160):
//   sT [ns][32]  = K_tile · qT                      (float microkernel, rows = keys)
//   m' = max(m, column max of sT); p = exp(sT − m'); l = l·e^(m−m') + Σ p; o *= e^(m−m')
//   o  += pᵀ · V_tile                              (float microkernel, rows = queries read
//                                                   down the columns of sT, V rows as panels)
//   oT += vTᵀ_tile · p                             (rows = value columns, sT as the panel)
// so memory per thread is O(headDim · 32 + 128 · 32), never tokens², and the output rows
// come out in the caller's layout (no transpose at the end but rem columns).
//
// The last rem columns go the other way round because a 16-lane panel over them would be
// mostly padding: the decoder's 72-wide heads computed 80 columns for 72. Both forms are one
// FMA chain per output over the tile's keys in order, so they give the same bits.
//
// 128 keys per tile (not 64): the second product then runs the microkernel over 128 keys
// per call, halving its per-call cost (loading and storing the accumulators), and the
// running max and rescaling are updated half as often.

/// Queries per task (two SIMD16 vectors); a tail of ≤ 16 queries uses one vector.
private let queryBlock = 32
/// Keys per softmax update.
private let keyTile = 128
/// A last tile of up to this many more keys is joined to the one before it: a tile of a
/// few keys (the decoder's 257 = 2 · 128 + 1) costs a whole rescale of o and a round of
/// accumulator loads and stores for almost no products.
private let keyTileSlack = 32
private let maxKeyTile = keyTile + keyTileSlack

/// The size of the key tile starting at s0 (fixed by the shape, not by the threads).
@inline(__always)
private func keyTileSize(from s0: Int, tokens: Int) -> Int {
    tokens - s0 <= maxKeyTile ? tokens - s0 : keyTile
}

/// Multi-head attention, memory O(tokens * headDim) per thread (streaming softmax), plus
/// one contiguous copy of K and V (2 · heads · tokens · headDim floats) in the caller's arena.
/// For head h and query t: out[t, h*d ..< (h+1)*d] = Σ_s softmax_s(scale * q_t·k_s) v_s
/// q row t of head h starts at q + t*qStride + h*headDim (same for k, v, out).
/// `tokens` keys and values; `queries` query rows (nil: `tokens`), for a caller that needs
/// only the first rows' outputs. out must not overlap q, k or v.
public func attention(q: UnsafePointer<Float>, qStride: Int,
                      k: UnsafePointer<Float>, kStride: Int,
                      v: UnsafePointer<Float>, vStride: Int,
                      out: UnsafeMutablePointer<Float>, outStride: Int,
                      tokens: Int, queries: Int? = nil, heads: Int, headDim: Int, scale: Float,
                      ctx: ComputeContext) {
    let nQueries = queries ?? tokens
    if tokens == 0 || nQueries == 0 || heads == 0 || headDim == 0 { return }
    let kv = PackedKV(k: k, kStride: kStride, v: v, vStride: vStride, tokens: tokens, heads: heads, d: headDim, ctx: ctx)
    let d = headDim, blocks = (nQueries + queryBlock - 1) / queryBlock
    ctx.parallelForSlots(heads * blocks) { tasks, slot in
        // scratch: qT [d][32], o [32][d16], oT [rem][32], sT [≤ 160][32], row pointers
        let floats = (d + kv.d16 + kv.rem + maxKeyTile) * queryBlock
        let pointers = maxKeyTile + queryBlock + kv.rem
        let raw = ctx.scratch[slot].buffer(bytes: floats * 4 + pointers * 8 + 64)
        let qT = raw.bindMemory(to: Float.self, capacity: floats)
        let ptrs = (raw + floats * 4).bindMemory(to: UnsafePointer<Float>.self, capacity: pointers)
        let scratch = BlockScratch(qT: qT, o: qT + d * queryBlock, oT: qT + (d + kv.d16) * queryBlock,
                                   sT: qT + (d + kv.d16 + kv.rem) * queryBlock,
                                   keyRows: ptrs, queryRows: ptrs + maxKeyTile, columnRows: ptrs + maxKeyTile + queryBlock)
        for task in tasks {
            let h = task / blocks, t0 = (task % blocks) * queryBlock
            attendBlock(head: h, t0: t0, nq: min(queryBlock, nQueries - t0), q: q, qStride: qStride, scale: scale,
                        kv: kv, out: out, outStride: outStride, scratch: scratch, kernels: ctx.kernels)
        }
    }
}

/// One task's buffers (in its thread's scratch), each laid out as the file header says, and
/// the row pointers of its products' A sides: the tile's key rows (≤ 160), sT's query
/// columns (≤ 32), the tile's vT rows (rem). Each product is one kernel call over all its
/// rows, which the level splits into its own strips (8 rows on AVX-512, 6 on AVX2).
private struct BlockScratch {
    let qT, o, oT, sT: UnsafeMutablePointer<Float>
    let keyRows, queryRows, columnRows: UnsafeMutablePointer<UnsafePointer<Float>>
}

/// Queries t0 ..< t0 + nq (nq ≤ 32) of head `head`: the streaming softmax over every key.
private func attendBlock(head h: Int, t0: Int, nq: Int, q: UnsafePointer<Float>, qStride: Int, scale: Float,
                         kv: PackedKV, out: UnsafeMutablePointer<Float>, outStride: Int,
                         scratch b: BlockScratch, kernels: KernelSet) {
    let d = kv.d, d16 = kv.d16, rem = kv.rem, tokens = kv.tokens
    let nv = nq > 16 ? 2 : 1                // SIMD16 vectors per query row
    let w = 16 * nv                         // padded query count (row stride of sT, oT)
    let (qT, o, oT, sT) = (b.qT, b.o, b.oT, b.sT)
    // qT[e][i] = scale * q[t0 + i, h, e] (row stride 32; padding queries are 0): the level's
    // float panel packing transposes the block (16 × 16 in registers on AVX-512, 8 × 8 on
    // AVX2), then one multiply: the same values as the element-by-element loop it replaced.
    kernels.pack.fromF32(q + t0 * qStride + h * d, qStride, nq, d, qT)
    for e in 0..<d {
        let row = qT + e * queryBlock
        store16(load16(row) * scale, row)
        if nv == 2 { store16(load16(row + 16) * scale, row + 16) }
    }
    o.initialize(repeating: 0, count: w * d16)
    oT.initialize(repeating: 0, count: rem * w)
    for i in 0..<nq { b.queryRows[i] = UnsafePointer(sT + i) }
    var softmax = RunningSoftmax()
    var s0 = 0
    while s0 < tokens {
        let ns = keyTileSize(from: s0, tokens: tokens)
        // sT[r][i] = k[s0 + r, h] · qT[:, i]
        for r in 0..<ns { b.keyRows[r] = UnsafePointer(kv.key(head: h, token: s0 + r)) }
        kernels.f32Kernel(rows: ns, nv: nv, kc: d, a: b.keyRows, aStep: 1, b: qT, ldb: queryBlock, c: sT, ldc: w,
                          accumulate: false)
        if let (a0, a1) = softmax.update(sT: sT, keys: ns, nv: nv) {
            rescale(o: o, oT: oT, d16: d16, rem: rem, w: w, a0: a0, a1: a1)
        }
        accumulateValues(head: h, s0: s0, ns: ns, nq: nq, nv: nv, w: w, kv: kv, scratch: b, kernels: kernels)
        s0 += ns
    }
    // out[t0 + i, h, :] = (o[i][:], oT[:][i]) / l[i]
    let inv0 = 1 / softmax.l0, inv1 = 1 / softmax.l1
    for i in 0..<nq {
        let f = i < 16 ? inv0[i] : inv1[i - 16]
        let src = o + i * d16, dst = out + (t0 + i) * outStride + h * d
        var e = 0
        while e < d16 { store16(load16(src + e) * f, dst + e); e += 16 }
        for c in 0..<rem { dst[d16 + c] = oT[c * w + i] * f }
    }
}

/// The tile's second product, keys s0 ..< s0 + ns with their weights p in sT:
///   o[i][e]  += Σ_z p[z][i] · v[s0 + z, h, e]         (e < d16; query rows read down sT's columns)
///   oT[c][i] += Σ_z v[s0 + z, h, d16 + c] · p[z][i]  (c < rem; vT rows, sT as the panel)
@inline(__always)
private func accumulateValues(head h: Int, s0: Int, ns: Int, nq: Int, nv: Int, w: Int, kv: PackedKV,
                              scratch b: BlockScratch, kernels: KernelSet) {
    let d16 = kv.d16, vbase = kv.values(head: h, token: s0)
    var e = 0
    while e < d16 {
        let panel = d16 - e >= 32 ? 2 : 1
        kernels.f32Kernel(rows: nq, nv: panel, kc: ns, a: b.queryRows, aStep: w, b: vbase + e, ldb: d16,
                          c: b.o + e, ldc: d16, accumulate: true)
        e += 16 * panel
    }
    guard kv.rem > 0 else { return }
    for c in 0..<kv.rem { b.columnRows[c] = UnsafePointer(kv.valueColumn(head: h, column: c) + s0) }
    kernels.f32Kernel(rows: kv.rem, nv: nv, kc: ns, a: b.columnRows, aStep: 1, b: b.sT, ldb: w,
                      c: b.oT, ldc: w, accumulate: true)
}

/// o[i][:] and oT[:][i] *= the softmax correction of query i (lane i of a0, then of a1), i < w.
@inline(__always)
private func rescale(o: UnsafeMutablePointer<Float>, oT: UnsafeMutablePointer<Float>, d16: Int, rem: Int,
                     w: Int, a0: SIMD16<Float>, a1: SIMD16<Float>) {
    for i in 0..<w {
        let f = i < 16 ? a0[i] : a1[i - 16]
        let row = o + i * d16
        var e = 0
        while e < d16 { store16(load16(row + e) * f, row + e); e += 16 }
    }
    for c in 0..<rem {
        let row = oT + c * w
        store16(load16(row) * a0, row)
        if w == 32 { store16(load16(row + 16) * a1, row + 16) }
    }
}

/// The running max m and sum of exponentials l of a task's queries, one lane per query
/// (lanes 16...31 in m1, l1).
private struct RunningSoftmax {
    var m0 = SIMD16<Float>(repeating: -.greatestFiniteMagnitude), m1 = SIMD16<Float>(repeating: -.greatestFiniteMagnitude)
    var l0 = SIMD16<Float>(), l1 = SIMD16<Float>()

    /// Takes a tile's scores sT [keys][16·nv] in: m' = max(m, the tile's column max),
    /// sT = exp(sT − m') in place, l = l·e^(m−m') + Σ exp. Returns the corrections e^(m−m')
    /// the output so far must be scaled by, or nil when no max changed (they would all be 1).
    @inline(__always)
    mutating func update(sT: UnsafeMutablePointer<Float>, keys ns: Int, nv: Int) -> (SIMD16<Float>, SIMD16<Float>)? {
        let w = 16 * nv
        var t0 = SIMD16<Float>(repeating: -.greatestFiniteMagnitude), t1 = t0
        for z in 0..<ns {
            t0 = vmax(t0, load16(sT + z * w))
            if nv == 2 { t1 = vmax(t1, load16(sT + z * w + 16)) }
        }
        let n0 = vmax(m0, t0), n1 = vmax(m1, t1)
        let changed = any(n0 .!= m0) || (nv == 2 && any(n1 .!= m1))
        let a0 = vexp(m0 - n0), a1 = vexp(m1 - n1)
        m0 = n0; m1 = n1
        var p0 = SIMD16<Float>(), p1 = p0
        for z in 0..<ns {
            let e0 = vexp(load16(sT + z * w) - n0)
            store16(e0, sT + z * w)
            p0 += e0
            if nv == 2 {
                let e1 = vexp(load16(sT + z * w + 16) - n1)
                store16(e1, sT + z * w + 16)
                p1 += e1
            }
        }
        l0 = l0 * a0 + p0; l1 = l1 * a1 + p1
        return changed ? (a0, a1) : nil
    }
}

/// K and V of every head in contiguous rows (the file header's kp, vp and vT), in the
/// caller's prep arena; plain copies, in parallel over (head, 128-token chunk).
private struct PackedKV {
    let d, d16, rem, tokens: Int
    let kp, vp, vT: UnsafeMutablePointer<Float>

    init(k: UnsafePointer<Float>, kStride: Int, v: UnsafePointer<Float>, vStride: Int,
         tokens: Int, heads: Int, d: Int, ctx: ComputeContext) {
        let d16 = d / 16 * 16, rem = d - d16
        self.d = d; self.d16 = d16; self.rem = rem; self.tokens = tokens
        let count = heads * tokens * d
        kp = ctx.prepArena().buffer(bytes: 2 * count * 4).bindMemory(to: Float.self, capacity: 2 * count)
        vp = kp + count
        vT = vp + heads * tokens * d16
        let (kp, vp, vT) = (kp, vp, vT)
        let chunks = (tokens + keyTile - 1) / keyTile
        ctx.parallelFor(heads * chunks) { range in
            for task in range {
                let h = task / chunks, s0 = (task % chunks) * keyTile, s1 = min(tokens, s0 + keyTile)
                for s in s0..<s1 {
                    let src = v + s * vStride + h * d
                    (kp + (h * tokens + s) * d).update(from: k + s * kStride + h * d, count: d)
                    (vp + (h * tokens + s) * d16).update(from: src, count: d16)
                    for c in 0..<rem { vT[(h * rem + c) * tokens + s] = src[d16 + c] }
                }
            }
        }
    }

    /// Key row `token` of head `head` (d floats).
    func key(head: Int, token: Int) -> UnsafeMutablePointer<Float> { kp + (head * tokens + token) * d }
    /// Value row `token` of head `head`, panel columns (d16 floats, row stride d16).
    func values(head: Int, token: Int) -> UnsafeMutablePointer<Float> { vp + (head * tokens + token) * d16 }
    /// Value column d16 + `column` of head `head` over every token.
    func valueColumn(head: Int, column: Int) -> UnsafeMutablePointer<Float> { vT + (head * rem + column) * tokens }
}

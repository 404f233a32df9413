// Multi-head softmax attention with a streaming ("online") softmax.
//
// Each call first copies K and V of every head into contiguous rows (kp, vp: [heads][tokens]
// [dp], dp = headDim rounded up to 16, zero-padded): in the caller's layout consecutive keys
// sit a whole qkv row apart (13.8 KB in the decoder), so a key tile touched one page per key.
//
// Work is then split into tasks of (head, block of 32 queries) — fixed by the shape, so the
// result does not depend on the thread count. A task keeps, for its queries:
//   qT [d][32]   the queries, transposed and pre-multiplied by the softmax scale,
//   o  [32][dp]  the unnormalized output, one row per query,
//   m, l         the running max and sum of exponentials (one lane per query),
// and walks the keys in tiles of 128:
//   sT [128][32] = K_tile · qT                     (float microkernel, rows = keys)
//   m' = max(m, column max of sT); p = exp(sT − m'); l = l·e^(m−m') + Σ p; o *= e^(m−m')
//   o += pᵀ · V_tile                               (float microkernel, rows = queries read
//                                                   down the columns of sT, V rows as panels)
// so memory per thread is O(headDim · 32 + 128 · 32), never tokens², and the output rows
// come out in the caller's layout (no transpose at the end).
//
// 128 keys per tile (not 64): the second product then runs the microkernel over 128 keys
// per call, halving its per-call cost (loading and storing the accumulators), and the
// running max and rescaling are updated half as often.

/// Queries per task (two SIMD16 vectors); a tail of ≤ 16 queries uses one vector.
private let queryBlock = 32
/// Keys per softmax update.
private let keyTile = 128

/// Multi-head attention, memory O(tokens * headDim) per thread (streaming softmax), plus
/// one contiguous copy of K and V (2 · heads · tokens · ⌈headDim/16⌉·16 floats) in the
/// caller's arena.
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
    let d = headDim, dp = (headDim + 15) / 16 * 16, nQueries = queries ?? tokens
    if tokens == 0 || nQueries == 0 || heads == 0 || d == 0 { return }
    let (kp, vp) = packKeysValues(k: k, kStride: kStride, v: v, vStride: vStride, tokens: tokens, heads: heads,
                                  d: d, dp: dp, ctx: ctx)
    let blocks = (nQueries + queryBlock - 1) / queryBlock
    ctx.parallelForSlots(heads * blocks) { tasks, slot in
        // scratch: qT [d][32], o [32][dp], sT [128][32], row pointers
        let floats = d * queryBlock + queryBlock * dp + keyTile * queryBlock
        let raw = ctx.scratch[slot].buffer(bytes: floats * 4 + 8 * 8 + 64)
        let qT = raw.bindMemory(to: Float.self, capacity: floats)
        let o = qT + d * queryBlock, sT = o + queryBlock * dp
        let ptrs = (raw + floats * 4).bindMemory(to: UnsafePointer<Float>.self, capacity: 8)
        for task in tasks {
            let h = task / blocks, t0 = (task % blocks) * queryBlock
            let nq = min(queryBlock, nQueries - t0)
            let nv = nq > 16 ? 2 : 1                // SIMD16 vectors per query row
            let w = 16 * nv                         // padded query count (row stride of qT, sT)
            // qT[e][i] = scale * q[t0 + i, h, e]; padding queries are 0. Channel by channel, so
            // the stores run along qT's rows (the 32 query rows read stay in L1: 32 · d floats).
            let src0 = q + t0 * qStride + h * d
            for e in 0..<d {
                let row = qT + e * w
                var p = src0 + e
                for i in 0..<nq { row[i] = p.pointee * scale; p += qStride }
                for i in nq..<w { row[i] = 0 }
            }
            o.initialize(repeating: 0, count: w * dp)
            var m0 = SIMD16<Float>(repeating: -.greatestFiniteMagnitude), m1 = m0
            var l0 = SIMD16<Float>(), l1 = l0
            var s0 = 0
            while s0 < tokens {
                let ns = min(keyTile, tokens - s0)
                // sT[r][i] = k[s0 + r, h] · qT[:, i]
                var r = 0
                while r < ns {
                    let rows = min(8, ns - r)
                    for z in 0..<rows { ptrs[z] = UnsafePointer(kp + (h * tokens + s0 + r + z) * dp) }
                    ctx.kernels.f32Kernel(rows: rows, nv: nv, kc: d, a: ptrs, aStep: 1, b: qT, ldb: w,
                                   c: sT + r * w, ldc: w, accumulate: false)
                    r += rows
                }
                // online softmax update, one lane per query
                var t0v = SIMD16<Float>(repeating: -.greatestFiniteMagnitude), t1v = t0v
                for z in 0..<ns {
                    t0v = vmax(t0v, load16(sT + z * w))
                    if nv == 2 { t1v = vmax(t1v, load16(sT + z * w + 16)) }
                }
                let n0 = vmax(m0, t0v), n1 = vmax(m1, t1v)
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
                if changed { rescaleRows(o, rows: w, dp: dp, a0: a0, a1: a1) }
                // o[i][e] += Σ_z p[z][i] · v[s0 + z, h, e]: query rows read down sT's columns
                let vbase = vp + (h * tokens + s0) * dp
                var i = 0
                while i < nq {
                    let rows = min(8, nq - i)
                    for z in 0..<rows { ptrs[z] = UnsafePointer(sT + i + z) }
                    var e = 0
                    while e < dp {
                        let panel = dp - e >= 32 ? 2 : 1
                        ctx.kernels.f32Kernel(rows: rows, nv: panel, kc: ns, a: ptrs, aStep: w, b: vbase + e, ldb: dp,
                                              c: o + i * dp + e, ldc: dp, accumulate: true)
                        e += 16 * panel
                    }
                    i += rows
                }
                s0 += ns
            }
            // out[t0 + i, h, :] = o[i][:] / l[i]
            let inv0 = 1 / l0, inv1 = 1 / l1
            for i in 0..<nq {
                let f = i < 16 ? inv0[i] : inv1[i - 16]
                let src = o + i * dp, dst = out + (t0 + i) * outStride + h * d
                var e = 0
                while e + 16 <= d { store16(load16(src + e) * f, dst + e); e += 16 }
                while e < d { dst[e] = src[e] * f; e += 1 }
            }
        }
    }
}

/// o[i][:] *= the softmax correction of query i (lane i of a0, then of a1), i < rows.
@inline(__always)
private func rescaleRows(_ o: UnsafeMutablePointer<Float>, rows: Int, dp: Int, a0: SIMD16<Float>, a1: SIMD16<Float>) {
    for i in 0..<rows {
        let f = i < 16 ? a0[i] : a1[i - 16]
        let row = o + i * dp
        var e = 0
        while e < dp { store16(load16(row + e) * f, row + e); e += 16 }
    }
}

/// K and V of every head as contiguous rows [heads][tokens][dp] (zero past d), in the
/// caller's prep arena; plain copies, in parallel over (head, 128-token chunk).
private func packKeysValues(k: UnsafePointer<Float>, kStride: Int, v: UnsafePointer<Float>, vStride: Int,
                            tokens: Int, heads: Int, d: Int, dp: Int,
                            ctx: ComputeContext) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
    let count = heads * tokens * dp
    let kp = ctx.prepArena().buffer(bytes: 2 * count * 4).bindMemory(to: Float.self, capacity: 2 * count)
    let vp = kp + count
    let chunks = (tokens + keyTile - 1) / keyTile
    ctx.parallelFor(heads * chunks) { range in
        for task in range {
            let h = task / chunks, s0 = (task % chunks) * keyTile, s1 = min(tokens, s0 + keyTile)
            for s in s0..<s1 {
                let kd = kp + (h * tokens + s) * dp, vd = vp + (h * tokens + s) * dp
                kd.update(from: k + s * kStride + h * d, count: d)
                vd.update(from: v + s * vStride + h * d, count: d)
                if dp > d {
                    (kd + d).initialize(repeating: 0, count: dp - d)
                    (vd + d).initialize(repeating: 0, count: dp - d)
                }
            }
        }
    }
    return (kp, vp)
}

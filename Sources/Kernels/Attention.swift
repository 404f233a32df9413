// Multi-head softmax attention with a streaming ("online") softmax.
//
// Work is split into tasks of (head, block of 32 queries) — fixed by the shape, so the
// result does not depend on the thread count. A task keeps, for its queries:
//   qT [d][32]   the queries, transposed and pre-multiplied by the softmax scale,
//   oT [d][32]   the unnormalized output, transposed,
//   m, l         the running max and sum of exponentials (one lane per query),
// and walks the keys in tiles of 128:
//   sT [128][32] = K_tile · qT                      (float microkernel, rows = keys)
//   m' = max(m, column max of sT); p = exp(sT − m'); l = l·e^(m−m') + Σ p; oT *= e^(m−m')
//   oT += V_tileᵀ · p                              (float microkernel, rows = head dims,
//                                                   reading V with a row stride)
// so memory per thread is O(headDim · 32 + 128 · 32), never tokens².
//
// 128 keys per tile (not 64): the second product then runs the microkernel over 128 keys
// per call, halving its per-call cost (loading and storing the 8 × 32 accumulators), and the
// running max and rescaling are updated half as often.

/// Queries per task (two SIMD16 vectors); a tail of ≤ 16 queries uses one vector.
private let queryBlock = 32
/// Keys per softmax update.
private let keyTile = 128

/// Multi-head attention, memory O(tokens * headDim) per thread (streaming softmax).
/// For head h and query t: out[t, h*d ..< (h+1)*d] = Σ_s softmax_s(scale * q_t·k_s) v_s
/// q row t of head h starts at q + t*qStride + h*headDim (same for k, v, out).
/// out must not overlap q, k or v.
public func attention(q: UnsafePointer<Float>, qStride: Int,
                      k: UnsafePointer<Float>, kStride: Int,
                      v: UnsafePointer<Float>, vStride: Int,
                      out: UnsafeMutablePointer<Float>, outStride: Int,
                      tokens: Int, heads: Int, headDim: Int, scale: Float, ctx: ComputeContext) {
    let d = headDim
    if tokens == 0 || heads == 0 || d == 0 { return }
    let blocks = (tokens + queryBlock - 1) / queryBlock
    ctx.parallelForSlots(heads * blocks) { tasks, slot in
        // scratch: qT, oT [d][32], sT [128][32], row pointers
        let floats = 2 * d * queryBlock + keyTile * queryBlock
        let raw = ctx.scratch[slot].buffer(bytes: floats * 4 + 8 * 8 + 64)
        let qT = raw.bindMemory(to: Float.self, capacity: floats)
        let oT = qT + d * queryBlock, sT = oT + d * queryBlock
        let ptrs = (raw + floats * 4).bindMemory(to: UnsafePointer<Float>.self, capacity: 8)
        for task in tasks {
            let h = task / blocks, t0 = (task % blocks) * queryBlock
            let nq = min(queryBlock, tokens - t0)
            let nv = nq > 16 ? 2 : 1                // SIMD16 vectors per query row
            let w = 16 * nv                         // padded query count (row stride of qT, oT, sT)
            // qT[e][i] = scale * q[t0 + i, h, e]; padding queries are 0
            for i in 0..<w {
                if i < nq {
                    let src = q + (t0 + i) * qStride + h * d
                    for e in 0..<d { qT[e * w + i] = src[e] * scale }
                } else {
                    for e in 0..<d { qT[e * w + i] = 0 }
                }
            }
            oT.initialize(repeating: 0, count: d * w)
            var m0 = SIMD16<Float>(repeating: -.greatestFiniteMagnitude), m1 = m0
            var l0 = SIMD16<Float>(), l1 = l0
            var s0 = 0
            while s0 < tokens {
                let ns = min(keyTile, tokens - s0)
                // sT[r][i] = k[s0 + r, h] · qT[:, i]
                var r = 0
                while r < ns {
                    let rows = min(8, ns - r)
                    for z in 0..<rows { ptrs[z] = k + (s0 + r + z) * kStride + h * d }
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
                if changed {
                    for e in 0..<d {
                        store16(load16(oT + e * w) * a0, oT + e * w)
                        if nv == 2 { store16(load16(oT + e * w + 16) * a1, oT + e * w + 16) }
                    }
                }
                // oT[e][i] += Σ_z v[s0 + z, h, e] · p[z][i]
                let vbase = v + s0 * vStride + h * d
                var e = 0
                while e < d {
                    let rows = min(8, d - e)
                    for z in 0..<rows { ptrs[z] = vbase + e + z }
                    ctx.kernels.f32Kernel(rows: rows, nv: nv, kc: ns, a: ptrs, aStep: vStride, b: sT, ldb: w,
                                   c: oT + e * w, ldc: w, accumulate: true)
                    e += rows
                }
                s0 += ns
            }
            // out[t0 + i, h, e] = oT[e][i] / l[i]
            let inv0 = 1 / l0, inv1 = 1 / l1
            for i in 0..<nq {
                let f = i < 16 ? inv0[i] : inv1[i - 16]
                let dst = out + (t0 + i) * outStride + h * d
                for e in 0..<d { dst[e] = oT[e * w + i] * f }
            }
        }
    }
}

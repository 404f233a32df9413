// The row form of the GEMM engine (m <= Blocking.smallM rows, e.g. the generator's 3 to 6):
// no packing; tasks of Blocking.nc columns, each weight row read straight from memory and
// dotted with up to 6 activation rows at a time, then the shared epilogue (Gemm.swift).
// One sum over all of k per output, so results do not depend on the thread count.
import CKernels

/// Row form for float activations: raw[i, j] = Σ_p A[i, p] · W[j, p] by `rowDots`, over
/// tasks of Blocking.nc columns, then the epilogue.
func rowGemmF32(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, w: WeightSource,
                epilogue: Epilogue, c: UnsafeMutablePointer<Float>, ldc: Int, ctx: ComputeContext) {
    let ncp = Blocking.nc
    let tasks = (n + ncp - 1) / ncp
    let kernels = ctx.kernels
    ctx.parallelForBalanced(tasks) { range, slot in
        let tile = ctx.scratch[slot].buffer(bytes: m * ncp * 4).bindMemory(to: Float.self, capacity: m * ncp)
        for t in range {
            let n0 = t * ncp, n1 = min(n, n0 + ncp)
            var i = 0
            while i < m {
                let r = min(6, m - i)
                let ai = a + i * lda, out = tile + i * ncp
                // the same arithmetic on every level: C for AVX2 and NEON (whose registers
                // cannot hold the Swift kernels' twelve 16-lane accumulators), Swift elsewhere
                switch w {
                case .i8(let wp): kernels.f32RowsI8(r, n1 - n0, k, ai, lda, wp + n0 * k, k, out, ncp)
                case .f32(let wp): kernels.f32RowsF32(r, n1 - n0, k, ai, lda, wp + n0 * k, k, out, ncp)
                }
                i += r
            }
            epilogue.apply(tile: tile, ldt: ncp, rows: m, n0: n0, cols: n1 - n0, c: c, ldc: ldc)
        }
    }
}

/// Row form for quantized activations (qa rows of kq bytes, zero past k; corr[i] =
/// 128·Σ q_i; scale[i] the row scale): raw[i, j] = (Σ_p W[j,p]·q[i,p])·scale[i], the sum
/// exact on every level (the VNNI kernel sums (W+128)·q and subtracts corr[i]).
/// rowTerms: W's row terms (`I8RowTerms`), taken by a level whose kernel would sum them.
func rowGemmI8(m: Int, n: Int, k: Int, qa: UnsafePointer<Int8>, kq: Int, corr: UnsafePointer<Int32>,
               scale: UnsafePointer<Float>, w: UnsafePointer<Int8>, rowTerms: UnsafePointer<Int32>? = nil,
               epilogue: Epilogue, c: UnsafeMutablePointer<Float>, ldc: Int, ctx: ComputeContext) {
    if let tiles = ctx.kernels.tiles {
        return amxRowGemmI8(m: m, n: n, k: k, qa: qa, kq: kq, scale: scale, w: w, epilogue: epilogue,
                            c: c, ldc: ldc, ctx: ctx, tiles: tiles)
    }
    let ncp = Blocking.nc
    let tasks = (n + ncp - 1) / ncp
    let scheme = ctx.kernels.i8
    // the weight rows' terms, when they are given and the level's kernel takes them
    let withTerms = rowTerms.flatMap { terms in scheme.rowsWithTerms.map { (run: $0, terms: terms) } }
    ctx.parallelForBalanced(tasks) { range, slot in
        let raw = ctx.scratch[slot].buffer(bytes: m * ncp * 8)
        let tile = raw.bindMemory(to: Float.self, capacity: m * ncp)
        let itile = (raw + m * ncp * 4).bindMemory(to: Int32.self, capacity: m * ncp)
        for t in range {
            let n0 = t * ncp, n1 = min(n, n0 + ncp)
            var i = 0
            while i < m {
                let r = min(6, m - i)
                let a = qa + i * kq, out = itile + i * ncp
                if let withTerms {
                    withTerms.run(r, n1 - n0, k, a, kq, w + n0 * k, k, withTerms.terms + n0, out, ncp)
                } else {
                    scheme.rows(r, n1 - n0, k, a, kq, w + n0 * k, k, out, ncp)
                }
                i += r
            }
            scaleSums(rows: m, sums: itile, corr: scheme.isBiased ? corr : nil, scale: scale, c: tile, accumulate: false)
            epilogue.apply(tile: tile, ldt: ncp, rows: m, n0: n0, cols: n1 - n0, c: c, ldc: ldc)
        }
    }
}

/// The generic level's dot form: out[i*ldo + j] = Σ_{p<k} W[j, p] · a[i*lda + p], exact.
/// Products are summed lane-wise in float (two vectors of 16 lanes per row) over chunks short
/// enough that every lane's partial sum is an integer of magnitude below 2^22 (at most 256
/// products of ≤ 127·128 each): the float sums are exact, and within the range where
/// `vroundToInt32` converts exactly; chunk sums then go to Int32 lanes.
/// The activation rows are widened to float once per call, and each 16 weights once per pair
/// of rows: widening both for every product cost six times the float row form in a build for
/// AVX without AVX2, which widens bytes 128 bits at a time (generator step 0.70 s against 0.10).
func genericI8Rows(mr: Int, nc: Int, k: Int, a: UnsafePointer<Int8>, lda: Int,
                   w: UnsafePointer<Int8>, ldw: Int, out: UnsafeMutablePointer<Int32>, ldo: Int) {
    let k16 = k / 16 * 16
    withUnsafeTemporaryAllocation(of: Float.self, capacity: mr * k16 + 1) { buffer in
        let af = buffer.baseAddress!   // [mr][k16]: the rows' first k16 values as floats
        for i in 0..<mr {
            for p in stride(from: 0, to: k16, by: 16) {
                store16(vfloat(UnsafeRawPointer(a + i * lda + p).loadUnaligned(as: SIMD16<Int8>.self)), af + i * k16 + p)
            }
        }
        for j in 0..<nc {
            for i in stride(from: 0, to: mr, by: 2) {
                // rows i and i + 1 (row i twice when it is the last)
                let i1 = min(i + 1, mr - 1)
                let wr = w + j * ldw
                let (t0, t1) = genericI8Pair(k16: k16, x0: af + i * k16, x1: af + i1 * k16, w: wr)
                out[i * ldo + j] = genericI8Tail(t0, k16: k16, k: k, w: wr, a: a + i * lda)
                out[i1 * ldo + j] = genericI8Tail(t1, k16: k16, k: k, w: wr, a: a + i1 * lda)
            }
        }
    }
}

/// sum + Σ_{k16≤p<k} w[p] · a[p].
@inline(__always)
private func genericI8Tail(_ sum: Int32, k16: Int, k: Int, w: UnsafePointer<Int8>, a: UnsafePointer<Int8>) -> Int32 {
    var s = sum
    for p in k16..<k { s &+= Int32(w[p]) &* Int32(a[p]) }
    return s
}

/// Σ_{p<k16} w[p] · x0[p] and the same with x1, exact (see `genericI8Rows`).
@inline(__always)
private func genericI8Pair(k16: Int, x0: UnsafePointer<Float>, x1: UnsafePointer<Float>,
                           w: UnsafePointer<Int8>) -> (Int32, Int32) {
    let chunk = 8 * 1024   // 256 products per lane of two 16-lane accumulators
    var t0 = SIMD16<Int32>(), t1 = SIMD16<Int32>()
    var p0 = 0
    while p0 < k16 {
        let p1 = min(k16, p0 + chunk)
        var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s10 = SIMD16<Float>(), s11 = SIMD16<Float>()
        var p = p0
        while p + 32 <= p1 {
            let w0 = vfloat(UnsafeRawPointer(w + p).loadUnaligned(as: SIMD16<Int8>.self))
            let w1 = vfloat(UnsafeRawPointer(w + p + 16).loadUnaligned(as: SIMD16<Int8>.self))
            s00.addMul(w0, load16(x0 + p)); s01.addMul(w1, load16(x0 + p + 16))
            s10.addMul(w0, load16(x1 + p)); s11.addMul(w1, load16(x1 + p + 16))
            p += 32
        }
        if p < p1 {
            let w0 = vfloat(UnsafeRawPointer(w + p).loadUnaligned(as: SIMD16<Int8>.self))
            s00.addMul(w0, load16(x0 + p)); s10.addMul(w0, load16(x1 + p))
        }
        t0 &+= vroundToInt32(s00) &+ vroundToInt32(s01)
        t1 &+= vroundToInt32(s10) &+ vroundToInt32(s11)
        p0 = p1
    }
    return (t0.wrappedSum(), t1.wrappedSum())
}

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
/// Products are summed lane-wise in float (two vectors of 16 lanes) over chunks short enough
/// that every lane's partial sum is an integer of magnitude below 2^22 (at most 256 products
/// of ≤ 127·128 each): the float sums are exact, and within the range where `vroundToInt32`
/// converts exactly; chunk sums then go to Int32 lanes.
func genericI8Rows(mr: Int, nc: Int, k: Int, a: UnsafePointer<Int8>, lda: Int,
                   w: UnsafePointer<Int8>, ldw: Int, out: UnsafeMutablePointer<Int32>, ldo: Int) {
    let chunk = 8 * 1024
    let k16 = k / 16 * 16
    for j in 0..<nc {
        let wr = w + j * ldw
        for i in 0..<mr {
            let ar = a + i * lda
            var total = SIMD16<Int32>()
            var p0 = 0
            while p0 < k16 {
                let p1 = min(k16, p0 + chunk)
                var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
                var p = p0
                while p + 32 <= p1 {
                    s0.addMul(vfloat(UnsafeRawPointer(wr + p).loadUnaligned(as: SIMD16<Int8>.self)),
                                  vfloat(UnsafeRawPointer(ar + p).loadUnaligned(as: SIMD16<Int8>.self)))
                    s1.addMul(vfloat(UnsafeRawPointer(wr + p + 16).loadUnaligned(as: SIMD16<Int8>.self)),
                                  vfloat(UnsafeRawPointer(ar + p + 16).loadUnaligned(as: SIMD16<Int8>.self)))
                    p += 32
                }
                if p < p1 {
                    s0.addMul(vfloat(UnsafeRawPointer(wr + p).loadUnaligned(as: SIMD16<Int8>.self)),
                                  vfloat(UnsafeRawPointer(ar + p).loadUnaligned(as: SIMD16<Int8>.self)))
                }
                total &+= vroundToInt32(s0) &+ vroundToInt32(s1)
                p0 = p1
            }
            var sum = total.wrappedSum()
            for p in k16..<k { sum &+= Int32(wr[p]) &* Int32(ar[p]) }
            out[i * ldo + j] = sum
        }
    }
}

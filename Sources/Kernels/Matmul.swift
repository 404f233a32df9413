// C = A·Wᵀ with int8 or float32 weights, and a plain float32 GEMM. The engine is in Gemm.swift.

/// Rows of a row-major float matrix, for the panel form: block b starts at column b·kc.
struct MatrixRowsF32: F32Rows {
    let a: UnsafePointer<Float>, lda: Int, kc: Int
    @inline(__always)
    func strip(_ i0: Int, _ count: Int, _ b: Int, _ ptrs: UnsafeMutablePointer<UnsafePointer<Float>>) {
        for q in 0..<count { ptrs[q] = a + (i0 + q) * lda + b * kc }
    }
}

/// Quantized rows (kq bytes each), per-block corrections [m][blocks] and scales [m].
struct MatrixRowsI8: I8Rows {
    let q: UnsafePointer<Int8>, kq: Int, kc: Int, blocks: Int
    let corr: UnsafePointer<Int32>, scale: UnsafePointer<Float>
    @inline(__always)
    func strip(_ i0: Int, _ count: Int, _ b: Int, _ ptrs: UnsafeMutablePointer<UnsafePointer<Int8>?>,
               _ corrOut: UnsafeMutablePointer<Int32>, _ scaleOut: UnsafeMutablePointer<Float>) {
        for z in 0..<count {       // (wrapping arithmetic: the shape was checked by matmul)
            let i = i0 &+ z
            ptrs[z] = q + (i &* kq &+ b &* kc)
            corrOut[z] = corr[i &* blocks &+ b]
            scaleOut[z] = scale[i]
        }
    }
}

/// C[i, j] (= or +=) colScale[j] * act( Σ_p A[i, p] * W[j, p] + bias[j] )
/// A: [m, k] with row stride lda; C: [m, n] with row stride ldc. bias, colScale: [n].
/// C must not overlap A. `mode` matters only for int8 weights (see `MatrixMode`).
/// m <= 8 rows use the row form (weights streamed once, no packing); more rows use
/// packed panels and register-blocked microkernels.
public func matmul(_ a: UnsafePointer<Float>, lda: Int, m: Int,
                   _ w: WeightMatrix, bias: UnsafePointer<Float>?,
                   activation: Activation = .none, colScale: UnsafePointer<Float>? = nil,
                   accumulate: Bool = false,
                   into c: UnsafeMutablePointer<Float>, ldc: Int,
                   mode: MatrixMode = .w8a32, ctx: ComputeContext) {
    let n = w.n, k = w.k
    precondition(m >= 0 && lda >= k && ldc >= n, "matmul: bad shape or strides")
    if m == 0 || n == 0 { return }
    if case .q4(let blocks) = w.storage {   // int4 weights: their own drivers (GemmQ4.swift)
        matmulQ4(a, lda: lda, m: m, blocks: blocks, strips: w.strips, n: n, k: k, bias: bias, activation: activation,
                 colScale: colScale, accumulate: accumulate, into: c, ldc: ldc, mode: mode, ctx: ctx)
        return
    }
    var epilogue = Epilogue(wScale: nil, bias: bias, colScale: colScale, activation: activation,
                            accumulate: accumulate)
    // Float activations (float weights, or int8 weights in W8A32): row or panel form.
    let floatPath = { (weights: WeightSource, epilogue: Epilogue) in
        if m <= Blocking.smallM {
            rowGemmF32(m: m, n: n, k: k, a: a, lda: lda, w: weights, epilogue: epilogue,
                       c: c, ldc: ldc, ctx: ctx)
        } else {
            panelGemmF32(m: m, n: n, ldw: k, blocks: uniformBlocks(k: k, kc: Blocking.kcF32),
                         rows: MatrixRowsF32(a: a, lda: lda, kc: Blocking.kcF32), weights: weights,
                         epilogue: epilogue, c: c, ldc: ldc, ctx: ctx)
        }
    }
    switch w.storage {
    case .q4: return   // handled above
    case .f32(let wp):
        floatPath(.f32(wp), epilogue)
    case .i8(let wq, let ws):
        epilogue.wScale = ws
        if mode == .w8a32 {
            floatPath(.i8(wq), epilogue)
            return
        }
        // W8A8: quantize every row of A once (per call), into the caller's prep arena.
        let small = m <= Blocking.smallM
        let kc = small ? max(k, 1) : Blocking.kcI8
        let nb = max((k + kc - 1) / kc, 1)
        let kq = (k + 63) / 64 * 64
        // the panel kernel's own row form, when it has one (prepared once here, not per column block)
        let prepare = small ? nil : ctx.kernels.panelRowPrepare
        let preparedBytes = prepare == nil ? 0 : m * 2 * kq + 64
        let prep = ctx.prepArena().buffer(bytes: m * kq + m * nb * 4 + m * 4 + 128 + preparedBytes)
        let q = prep.bindMemory(to: Int8.self, capacity: m * kq)
        let corr = (prep + (m * kq + 63) / 64 * 64).bindMemory(to: Int32.self, capacity: m * nb)
        let scale = (UnsafeMutableRawPointer(corr) + m * nb * 4).bindMemory(to: Float.self, capacity: m)
        let prepared = (UnsafeMutableRawPointer(scale) + m * 4 + 64).bindMemory(to: Int8.self, capacity: m * 2 * kq)
        let quantize = { (rows: Range<Int>) in
            for i in rows {
                scale[i] = quantizeRowFast(a + i * lda, k: k, kq: kq, into: q + i * kq, blockLen: kc,
                                           sums: corr + i * nb)
                if let prepare {
                    prepareRow(prepare, q + i * kq, k: k, blockLen: kc, into: prepared + i * 2 * kq, terms: corr + i * nb)
                }
            }
        }
        if small { quantize(0..<m) } else { ctx.parallelFor(m, quantize) }
        if small {
            rowGemmI8(m: m, n: n, k: k, qa: q, kq: kq, corr: corr, scale: scale, w: wq,
                      rowTerms: w.rowTerms, epilogue: epilogue, c: c, ldc: ldc, ctx: ctx)
        } else {
            panelGemmI8(m: m, n: n, ldw: k, blocks: uniformBlocks(k: k, kc: kc),
                        rows: prepare == nil ? MatrixRowsI8(q: q, kq: kq, kc: kc, blocks: nb, corr: corr, scale: scale)
                            : MatrixRowsI8(q: prepared, kq: 2 * kq, kc: 2 * kc, blocks: nb, corr: corr, scale: scale),
                        weights: wq, epilogue: epilogue, c: c, ldc: ldc, ctx: ctx,
                        prepacked: w.panelsLevel == ctx.isa ? w.panels : nil)
        }
    }
}

/// Plain float GEMM C[m,n] = alpha * A[m,k] · B[k,n] (+ C if accumulate): the GEMM engine with a
/// float B. Internal: no model uses it; the kernel tests run it (`@testable import Kernels`).
/// A: [m, k] row stride lda; B: [k, n] row stride ldb; C: [m, n] row stride ldc (no overlap).
func sgemm(m: Int, n: Int, k: Int, alpha: Float,
                  a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int, ctx: ComputeContext) {
    precondition(m >= 0 && n >= 0 && k >= 0 && lda >= k && ldb >= n && ldc >= n, "sgemm: bad shape or strides")
    if m == 0 || n == 0 { return }
    let epilogue = Epilogue(alpha: alpha, wScale: nil, bias: nil, colScale: nil, activation: .none,
                            accumulate: accumulate)
    let tiling = PanelTiling(m: m, n: n)
    let kc = Blocking.kcF32
    let kernels = ctx.kernels, strip = kernels.f32Strip
    ctx.parallelForSlots(tiling.tasks) { tasks, slot in
        let ncp = Blocking.nc
        let tileFloats = tiling.mc * ncp, padFloats = kc * 32
        let raw = ctx.scratch[slot].buffer(bytes: (tileFloats + padFloats) * 4 + 64)
        let tile = raw.bindMemory(to: Float.self, capacity: tileFloats + padFloats)
        let pad = tile + tileFloats
        let ptrs = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: 8)
        defer { ptrs.deallocate() }
        for t in tasks {
            let (m0, m1, _, n0, n1) = tiling.task(t)
            if k == 0 { tile.initialize(repeating: 0, count: tileFloats) }
            for k0 in stride(from: 0, to: k, by: kc) {
                let kb = min(kc, k - k0)
                var j = n0
                while j < n1 {
                    // full 32-column panels are read from B in place; a tail is zero-padded
                    let cols = min(32, n1 - j)
                    var panel = b + k0 * ldb + j, ldp = ldb
                    if cols < 32 {
                        for p in 0..<kb {
                            for q in 0..<32 { pad[p * 32 + q] = q < cols ? b[(k0 + p) * ldb + j + q] : 0 }
                        }
                        panel = UnsafePointer(pad); ldp = 32
                    }
                    var i = m0
                    while i < m1 {
                        let r = min(strip, m1 - i)
                        for q in 0..<r { ptrs[q] = a + (i + q) * lda + k0 }
                        kernels.f32Kernel(rows: r, nv: 2, kc: kb, a: ptrs, aStep: 1, b: panel, ldb: ldp,
                                          c: tile + (i - m0) * ncp + (j - n0), ldc: ncp, accumulate: k0 > 0)
                        i += r
                    }
                    j += 32
                }
            }
            epilogue.apply(tile: tile, ldt: ncp, rows: m1 - m0, n0: n0, cols: n1 - n0, c: c + m0 * ldc, ldc: ldc)
        }
    }
}

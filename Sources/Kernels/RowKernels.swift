// Dot-form float kernels for few activation rows (the row form of the GEMM engine):
// every weight row is read once, widened to float in registers and dotted with up to 6
// activation rows, two weight rows at a time. Written out per row count so all 12
// accumulators stay in registers (with 4 weight rows LLVM spills them).
//
// Each output is Σ over 16-lane chunks (lane-wise FMA chains, then a fixed tree sum)
// plus the k % 16 tail in order — the same arithmetic for any tiling or thread count.

import CKernels

/// Prefetches the two weight rows 8 KB ahead of p (row stride ldw elements): two
/// interleaved short rows defeat the hardware prefetcher.
@inline(__always)
func prefetchAhead(_ p: UnsafeRawPointer, _ rowBytes: Int) {
    rtk_prefetch(p + 8192)
    rtk_prefetch(p + 8192 + rowBytes)
    rtk_prefetch_l2(p + 32768)
    rtk_prefetch_l2(p + 32768 + rowBytes)
}

/// Loads 16 weights of element type E as floats.
protocol RowWeights {
    associatedtype E
    static func load(_ p: UnsafePointer<E>) -> SIMD16<Float>
    static func scalar(_ p: UnsafePointer<E>) -> Float
}

enum Int8Weights: RowWeights {
    @inline(__always) static func load(_ p: UnsafePointer<Int8>) -> SIMD16<Float> {
        vfloat(UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Int8>.self))
    }
    @inline(__always) static func scalar(_ p: UnsafePointer<Int8>) -> Float { Float(p.pointee) }
}

enum FloatWeights: RowWeights {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> { load16(p) }
    @inline(__always) static func scalar(_ p: UnsafePointer<Float>) -> Float { p.pointee }
}

/// out[i * ldo + j] = Σ_p a[i * lda + p] · w[j * ldw + p] for i < mr (1...6), j < nc.
/// (Concrete per weight type: generic versions were not always specialized.)
func rowDots(mr: Int, nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
             w: UnsafePointer<Int8>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    switch mr {

    case 1: rowDots1I8(nc: nc, k: k, a: a, lda: lda, w: w, ldw: ldw, out: out, ldo: ldo)
    case 2: rowDots2I8(nc: nc, k: k, a: a, lda: lda, w: w, ldw: ldw, out: out, ldo: ldo)
    case 3: rowDots3I8(nc: nc, k: k, a: a, lda: lda, w: w, ldw: ldw, out: out, ldo: ldo)
    case 4: rowDots4I8(nc: nc, k: k, a: a, lda: lda, w: w, ldw: ldw, out: out, ldo: ldo)
    case 5: rowDots5I8(nc: nc, k: k, a: a, lda: lda, w: w, ldw: ldw, out: out, ldo: ldo)
    case 6: rowDots6I8(nc: nc, k: k, a: a, lda: lda, w: w, ldw: ldw, out: out, ldo: ldo)
    default: preconditionFailure("rowDots: mr must be 1...6")
    }
}

/// Float-weight twin of `rowDots`.
func rowDots(mr: Int, nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
             w: UnsafePointer<Float>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    switch mr {

    case 1: rowDots1F32(nc: nc, k: k, a: a, lda: lda, w: w, ldw: ldw, out: out, ldo: ldo)
    case 2: rowDots2F32(nc: nc, k: k, a: a, lda: lda, w: w, ldw: ldw, out: out, ldo: ldo)
    case 3: rowDots3F32(nc: nc, k: k, a: a, lda: lda, w: w, ldw: ldw, out: out, ldo: ldo)
    case 4: rowDots4F32(nc: nc, k: k, a: a, lda: lda, w: w, ldw: ldw, out: out, ldo: ldo)
    case 5: rowDots5F32(nc: nc, k: k, a: a, lda: lda, w: w, ldw: ldw, out: out, ldo: ldo)
    case 6: rowDots6F32(nc: nc, k: k, a: a, lda: lda, w: w, ldw: ldw, out: out, ldo: ldo)
    default: preconditionFailure("rowDots: mr must be 1...6")
    }
}

@inline(never)
func rowDots1I8(nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                  w: UnsafePointer<Int8>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    typealias W = Int8Weights
    let k16 = k & ~15
    var j = 0
    while j + 2 <= nc {
        var s00 = SIMD16<Float>(), s01 = SIMD16<Float>()
        let w0 = w + j * ldw, w1 = w0 + ldw
        var p = 0
        while p < k16 {
            if p & 63 == 0 { prefetchAhead(w0 + p, ldw * MemoryLayout<W.E>.stride) }
            let v0 = W.load(w0 + p), v1 = W.load(w1 + p)
            let x0 = load16(a + 0 * lda + p)
            s00.addProduct(x0, v0)
            s01.addProduct(x0, v1)
            p += 16
        }
        var t00 = hsum(s00)
        var t01 = hsum(s01)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            let u1 = W.scalar(w1 + r)
            let y0 = a[0 * lda + r]
            t00 = t00.addingProduct(y0, u0)
            t01 = t01.addingProduct(y0, u1)
        }
        out[0 * ldo + j] = t00; out[0 * ldo + j + 1] = t01
        j += 2
    }
    while j < nc {
        var s0 = SIMD16<Float>()
        let w0 = w + j * ldw
        var p = 0
        while p < k16 {
            let v0 = W.load(w0 + p)
            s0.addProduct(load16(a + 0 * lda + p), v0)
            p += 16
        }
        var t0 = hsum(s0)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            t0 = t0.addingProduct(a[0 * lda + r], u0)
        }
        out[0 * ldo + j] = t0
        j += 1
    }
}

@inline(never)
func rowDots2I8(nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                  w: UnsafePointer<Int8>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    typealias W = Int8Weights
    let k16 = k & ~15
    var j = 0
    while j + 2 <= nc {
        var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s10 = SIMD16<Float>(), s11 = SIMD16<Float>()
        let w0 = w + j * ldw, w1 = w0 + ldw
        var p = 0
        while p < k16 {
            if p & 63 == 0 { prefetchAhead(w0 + p, ldw * MemoryLayout<W.E>.stride) }
            let v0 = W.load(w0 + p), v1 = W.load(w1 + p)
            let x0 = load16(a + 0 * lda + p)
            s00.addProduct(x0, v0)
            s01.addProduct(x0, v1)
            let x1 = load16(a + 1 * lda + p)
            s10.addProduct(x1, v0)
            s11.addProduct(x1, v1)
            p += 16
        }
        var t00 = hsum(s00)
        var t01 = hsum(s01)
        var t10 = hsum(s10)
        var t11 = hsum(s11)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            let u1 = W.scalar(w1 + r)
            let y0 = a[0 * lda + r]
            t00 = t00.addingProduct(y0, u0)
            t01 = t01.addingProduct(y0, u1)
            let y1 = a[1 * lda + r]
            t10 = t10.addingProduct(y1, u0)
            t11 = t11.addingProduct(y1, u1)
        }
        out[0 * ldo + j] = t00; out[0 * ldo + j + 1] = t01
        out[1 * ldo + j] = t10; out[1 * ldo + j + 1] = t11
        j += 2
    }
    while j < nc {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
        let w0 = w + j * ldw
        var p = 0
        while p < k16 {
            let v0 = W.load(w0 + p)
            s0.addProduct(load16(a + 0 * lda + p), v0)
            s1.addProduct(load16(a + 1 * lda + p), v0)
            p += 16
        }
        var t0 = hsum(s0)
        var t1 = hsum(s1)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            t0 = t0.addingProduct(a[0 * lda + r], u0)
            t1 = t1.addingProduct(a[1 * lda + r], u0)
        }
        out[0 * ldo + j] = t0
        out[1 * ldo + j] = t1
        j += 1
    }
}

@inline(never)
func rowDots3I8(nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                  w: UnsafePointer<Int8>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    typealias W = Int8Weights
    let k16 = k & ~15
    var j = 0
    while j + 2 <= nc {
        var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s10 = SIMD16<Float>(), s11 = SIMD16<Float>(), s20 = SIMD16<Float>(), s21 = SIMD16<Float>()
        let w0 = w + j * ldw, w1 = w0 + ldw
        var p = 0
        while p < k16 {
            if p & 63 == 0 { prefetchAhead(w0 + p, ldw * MemoryLayout<W.E>.stride) }
            let v0 = W.load(w0 + p), v1 = W.load(w1 + p)
            let x0 = load16(a + 0 * lda + p)
            s00.addProduct(x0, v0)
            s01.addProduct(x0, v1)
            let x1 = load16(a + 1 * lda + p)
            s10.addProduct(x1, v0)
            s11.addProduct(x1, v1)
            let x2 = load16(a + 2 * lda + p)
            s20.addProduct(x2, v0)
            s21.addProduct(x2, v1)
            p += 16
        }
        var t00 = hsum(s00)
        var t01 = hsum(s01)
        var t10 = hsum(s10)
        var t11 = hsum(s11)
        var t20 = hsum(s20)
        var t21 = hsum(s21)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            let u1 = W.scalar(w1 + r)
            let y0 = a[0 * lda + r]
            t00 = t00.addingProduct(y0, u0)
            t01 = t01.addingProduct(y0, u1)
            let y1 = a[1 * lda + r]
            t10 = t10.addingProduct(y1, u0)
            t11 = t11.addingProduct(y1, u1)
            let y2 = a[2 * lda + r]
            t20 = t20.addingProduct(y2, u0)
            t21 = t21.addingProduct(y2, u1)
        }
        out[0 * ldo + j] = t00; out[0 * ldo + j + 1] = t01
        out[1 * ldo + j] = t10; out[1 * ldo + j + 1] = t11
        out[2 * ldo + j] = t20; out[2 * ldo + j + 1] = t21
        j += 2
    }
    while j < nc {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>()
        let w0 = w + j * ldw
        var p = 0
        while p < k16 {
            let v0 = W.load(w0 + p)
            s0.addProduct(load16(a + 0 * lda + p), v0)
            s1.addProduct(load16(a + 1 * lda + p), v0)
            s2.addProduct(load16(a + 2 * lda + p), v0)
            p += 16
        }
        var t0 = hsum(s0)
        var t1 = hsum(s1)
        var t2 = hsum(s2)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            t0 = t0.addingProduct(a[0 * lda + r], u0)
            t1 = t1.addingProduct(a[1 * lda + r], u0)
            t2 = t2.addingProduct(a[2 * lda + r], u0)
        }
        out[0 * ldo + j] = t0
        out[1 * ldo + j] = t1
        out[2 * ldo + j] = t2
        j += 1
    }
}

@inline(never)
func rowDots4I8(nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                  w: UnsafePointer<Int8>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    typealias W = Int8Weights
    let k16 = k & ~15
    var j = 0
    while j + 2 <= nc {
        var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s10 = SIMD16<Float>(), s11 = SIMD16<Float>(), s20 = SIMD16<Float>(), s21 = SIMD16<Float>(), s30 = SIMD16<Float>(), s31 = SIMD16<Float>()
        let w0 = w + j * ldw, w1 = w0 + ldw
        var p = 0
        while p < k16 {
            if p & 63 == 0 { prefetchAhead(w0 + p, ldw * MemoryLayout<W.E>.stride) }
            let v0 = W.load(w0 + p), v1 = W.load(w1 + p)
            let x0 = load16(a + 0 * lda + p)
            s00.addProduct(x0, v0)
            s01.addProduct(x0, v1)
            let x1 = load16(a + 1 * lda + p)
            s10.addProduct(x1, v0)
            s11.addProduct(x1, v1)
            let x2 = load16(a + 2 * lda + p)
            s20.addProduct(x2, v0)
            s21.addProduct(x2, v1)
            let x3 = load16(a + 3 * lda + p)
            s30.addProduct(x3, v0)
            s31.addProduct(x3, v1)
            p += 16
        }
        var t00 = hsum(s00)
        var t01 = hsum(s01)
        var t10 = hsum(s10)
        var t11 = hsum(s11)
        var t20 = hsum(s20)
        var t21 = hsum(s21)
        var t30 = hsum(s30)
        var t31 = hsum(s31)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            let u1 = W.scalar(w1 + r)
            let y0 = a[0 * lda + r]
            t00 = t00.addingProduct(y0, u0)
            t01 = t01.addingProduct(y0, u1)
            let y1 = a[1 * lda + r]
            t10 = t10.addingProduct(y1, u0)
            t11 = t11.addingProduct(y1, u1)
            let y2 = a[2 * lda + r]
            t20 = t20.addingProduct(y2, u0)
            t21 = t21.addingProduct(y2, u1)
            let y3 = a[3 * lda + r]
            t30 = t30.addingProduct(y3, u0)
            t31 = t31.addingProduct(y3, u1)
        }
        out[0 * ldo + j] = t00; out[0 * ldo + j + 1] = t01
        out[1 * ldo + j] = t10; out[1 * ldo + j + 1] = t11
        out[2 * ldo + j] = t20; out[2 * ldo + j + 1] = t21
        out[3 * ldo + j] = t30; out[3 * ldo + j + 1] = t31
        j += 2
    }
    while j < nc {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
        let w0 = w + j * ldw
        var p = 0
        while p < k16 {
            let v0 = W.load(w0 + p)
            s0.addProduct(load16(a + 0 * lda + p), v0)
            s1.addProduct(load16(a + 1 * lda + p), v0)
            s2.addProduct(load16(a + 2 * lda + p), v0)
            s3.addProduct(load16(a + 3 * lda + p), v0)
            p += 16
        }
        var t0 = hsum(s0)
        var t1 = hsum(s1)
        var t2 = hsum(s2)
        var t3 = hsum(s3)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            t0 = t0.addingProduct(a[0 * lda + r], u0)
            t1 = t1.addingProduct(a[1 * lda + r], u0)
            t2 = t2.addingProduct(a[2 * lda + r], u0)
            t3 = t3.addingProduct(a[3 * lda + r], u0)
        }
        out[0 * ldo + j] = t0
        out[1 * ldo + j] = t1
        out[2 * ldo + j] = t2
        out[3 * ldo + j] = t3
        j += 1
    }
}

@inline(never)
func rowDots5I8(nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                  w: UnsafePointer<Int8>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    typealias W = Int8Weights
    let k16 = k & ~15
    var j = 0
    while j + 2 <= nc {
        var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s10 = SIMD16<Float>(), s11 = SIMD16<Float>(), s20 = SIMD16<Float>(), s21 = SIMD16<Float>(), s30 = SIMD16<Float>(), s31 = SIMD16<Float>(), s40 = SIMD16<Float>(), s41 = SIMD16<Float>()
        let w0 = w + j * ldw, w1 = w0 + ldw
        var p = 0
        while p < k16 {
            if p & 63 == 0 { prefetchAhead(w0 + p, ldw * MemoryLayout<W.E>.stride) }
            let v0 = W.load(w0 + p), v1 = W.load(w1 + p)
            let x0 = load16(a + 0 * lda + p)
            s00.addProduct(x0, v0)
            s01.addProduct(x0, v1)
            let x1 = load16(a + 1 * lda + p)
            s10.addProduct(x1, v0)
            s11.addProduct(x1, v1)
            let x2 = load16(a + 2 * lda + p)
            s20.addProduct(x2, v0)
            s21.addProduct(x2, v1)
            let x3 = load16(a + 3 * lda + p)
            s30.addProduct(x3, v0)
            s31.addProduct(x3, v1)
            let x4 = load16(a + 4 * lda + p)
            s40.addProduct(x4, v0)
            s41.addProduct(x4, v1)
            p += 16
        }
        var t00 = hsum(s00)
        var t01 = hsum(s01)
        var t10 = hsum(s10)
        var t11 = hsum(s11)
        var t20 = hsum(s20)
        var t21 = hsum(s21)
        var t30 = hsum(s30)
        var t31 = hsum(s31)
        var t40 = hsum(s40)
        var t41 = hsum(s41)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            let u1 = W.scalar(w1 + r)
            let y0 = a[0 * lda + r]
            t00 = t00.addingProduct(y0, u0)
            t01 = t01.addingProduct(y0, u1)
            let y1 = a[1 * lda + r]
            t10 = t10.addingProduct(y1, u0)
            t11 = t11.addingProduct(y1, u1)
            let y2 = a[2 * lda + r]
            t20 = t20.addingProduct(y2, u0)
            t21 = t21.addingProduct(y2, u1)
            let y3 = a[3 * lda + r]
            t30 = t30.addingProduct(y3, u0)
            t31 = t31.addingProduct(y3, u1)
            let y4 = a[4 * lda + r]
            t40 = t40.addingProduct(y4, u0)
            t41 = t41.addingProduct(y4, u1)
        }
        out[0 * ldo + j] = t00; out[0 * ldo + j + 1] = t01
        out[1 * ldo + j] = t10; out[1 * ldo + j + 1] = t11
        out[2 * ldo + j] = t20; out[2 * ldo + j + 1] = t21
        out[3 * ldo + j] = t30; out[3 * ldo + j + 1] = t31
        out[4 * ldo + j] = t40; out[4 * ldo + j + 1] = t41
        j += 2
    }
    while j < nc {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>(), s4 = SIMD16<Float>()
        let w0 = w + j * ldw
        var p = 0
        while p < k16 {
            let v0 = W.load(w0 + p)
            s0.addProduct(load16(a + 0 * lda + p), v0)
            s1.addProduct(load16(a + 1 * lda + p), v0)
            s2.addProduct(load16(a + 2 * lda + p), v0)
            s3.addProduct(load16(a + 3 * lda + p), v0)
            s4.addProduct(load16(a + 4 * lda + p), v0)
            p += 16
        }
        var t0 = hsum(s0)
        var t1 = hsum(s1)
        var t2 = hsum(s2)
        var t3 = hsum(s3)
        var t4 = hsum(s4)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            t0 = t0.addingProduct(a[0 * lda + r], u0)
            t1 = t1.addingProduct(a[1 * lda + r], u0)
            t2 = t2.addingProduct(a[2 * lda + r], u0)
            t3 = t3.addingProduct(a[3 * lda + r], u0)
            t4 = t4.addingProduct(a[4 * lda + r], u0)
        }
        out[0 * ldo + j] = t0
        out[1 * ldo + j] = t1
        out[2 * ldo + j] = t2
        out[3 * ldo + j] = t3
        out[4 * ldo + j] = t4
        j += 1
    }
}

@inline(never)
func rowDots6I8(nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                  w: UnsafePointer<Int8>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    typealias W = Int8Weights
    let k16 = k & ~15
    var j = 0
    while j + 2 <= nc {
        var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s10 = SIMD16<Float>(), s11 = SIMD16<Float>(), s20 = SIMD16<Float>(), s21 = SIMD16<Float>(), s30 = SIMD16<Float>(), s31 = SIMD16<Float>(), s40 = SIMD16<Float>(), s41 = SIMD16<Float>(), s50 = SIMD16<Float>(), s51 = SIMD16<Float>()
        let w0 = w + j * ldw, w1 = w0 + ldw
        var p = 0
        while p < k16 {
            if p & 63 == 0 { prefetchAhead(w0 + p, ldw * MemoryLayout<W.E>.stride) }
            let v0 = W.load(w0 + p), v1 = W.load(w1 + p)
            let x0 = load16(a + 0 * lda + p)
            s00.addProduct(x0, v0)
            s01.addProduct(x0, v1)
            let x1 = load16(a + 1 * lda + p)
            s10.addProduct(x1, v0)
            s11.addProduct(x1, v1)
            let x2 = load16(a + 2 * lda + p)
            s20.addProduct(x2, v0)
            s21.addProduct(x2, v1)
            let x3 = load16(a + 3 * lda + p)
            s30.addProduct(x3, v0)
            s31.addProduct(x3, v1)
            let x4 = load16(a + 4 * lda + p)
            s40.addProduct(x4, v0)
            s41.addProduct(x4, v1)
            let x5 = load16(a + 5 * lda + p)
            s50.addProduct(x5, v0)
            s51.addProduct(x5, v1)
            p += 16
        }
        var t00 = hsum(s00)
        var t01 = hsum(s01)
        var t10 = hsum(s10)
        var t11 = hsum(s11)
        var t20 = hsum(s20)
        var t21 = hsum(s21)
        var t30 = hsum(s30)
        var t31 = hsum(s31)
        var t40 = hsum(s40)
        var t41 = hsum(s41)
        var t50 = hsum(s50)
        var t51 = hsum(s51)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            let u1 = W.scalar(w1 + r)
            let y0 = a[0 * lda + r]
            t00 = t00.addingProduct(y0, u0)
            t01 = t01.addingProduct(y0, u1)
            let y1 = a[1 * lda + r]
            t10 = t10.addingProduct(y1, u0)
            t11 = t11.addingProduct(y1, u1)
            let y2 = a[2 * lda + r]
            t20 = t20.addingProduct(y2, u0)
            t21 = t21.addingProduct(y2, u1)
            let y3 = a[3 * lda + r]
            t30 = t30.addingProduct(y3, u0)
            t31 = t31.addingProduct(y3, u1)
            let y4 = a[4 * lda + r]
            t40 = t40.addingProduct(y4, u0)
            t41 = t41.addingProduct(y4, u1)
            let y5 = a[5 * lda + r]
            t50 = t50.addingProduct(y5, u0)
            t51 = t51.addingProduct(y5, u1)
        }
        out[0 * ldo + j] = t00; out[0 * ldo + j + 1] = t01
        out[1 * ldo + j] = t10; out[1 * ldo + j + 1] = t11
        out[2 * ldo + j] = t20; out[2 * ldo + j + 1] = t21
        out[3 * ldo + j] = t30; out[3 * ldo + j + 1] = t31
        out[4 * ldo + j] = t40; out[4 * ldo + j + 1] = t41
        out[5 * ldo + j] = t50; out[5 * ldo + j + 1] = t51
        j += 2
    }
    while j < nc {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>(), s4 = SIMD16<Float>(), s5 = SIMD16<Float>()
        let w0 = w + j * ldw
        var p = 0
        while p < k16 {
            let v0 = W.load(w0 + p)
            s0.addProduct(load16(a + 0 * lda + p), v0)
            s1.addProduct(load16(a + 1 * lda + p), v0)
            s2.addProduct(load16(a + 2 * lda + p), v0)
            s3.addProduct(load16(a + 3 * lda + p), v0)
            s4.addProduct(load16(a + 4 * lda + p), v0)
            s5.addProduct(load16(a + 5 * lda + p), v0)
            p += 16
        }
        var t0 = hsum(s0)
        var t1 = hsum(s1)
        var t2 = hsum(s2)
        var t3 = hsum(s3)
        var t4 = hsum(s4)
        var t5 = hsum(s5)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            t0 = t0.addingProduct(a[0 * lda + r], u0)
            t1 = t1.addingProduct(a[1 * lda + r], u0)
            t2 = t2.addingProduct(a[2 * lda + r], u0)
            t3 = t3.addingProduct(a[3 * lda + r], u0)
            t4 = t4.addingProduct(a[4 * lda + r], u0)
            t5 = t5.addingProduct(a[5 * lda + r], u0)
        }
        out[0 * ldo + j] = t0
        out[1 * ldo + j] = t1
        out[2 * ldo + j] = t2
        out[3 * ldo + j] = t3
        out[4 * ldo + j] = t4
        out[5 * ldo + j] = t5
        j += 1
    }
}

@inline(never)
func rowDots1F32(nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                  w: UnsafePointer<Float>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    typealias W = FloatWeights
    let k16 = k & ~15
    var j = 0
    while j + 2 <= nc {
        var s00 = SIMD16<Float>(), s01 = SIMD16<Float>()
        let w0 = w + j * ldw, w1 = w0 + ldw
        var p = 0
        while p < k16 {
            if p & 63 == 0 { prefetchAhead(w0 + p, ldw * MemoryLayout<W.E>.stride) }
            let v0 = W.load(w0 + p), v1 = W.load(w1 + p)
            let x0 = load16(a + 0 * lda + p)
            s00.addProduct(x0, v0)
            s01.addProduct(x0, v1)
            p += 16
        }
        var t00 = hsum(s00)
        var t01 = hsum(s01)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            let u1 = W.scalar(w1 + r)
            let y0 = a[0 * lda + r]
            t00 = t00.addingProduct(y0, u0)
            t01 = t01.addingProduct(y0, u1)
        }
        out[0 * ldo + j] = t00; out[0 * ldo + j + 1] = t01
        j += 2
    }
    while j < nc {
        var s0 = SIMD16<Float>()
        let w0 = w + j * ldw
        var p = 0
        while p < k16 {
            let v0 = W.load(w0 + p)
            s0.addProduct(load16(a + 0 * lda + p), v0)
            p += 16
        }
        var t0 = hsum(s0)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            t0 = t0.addingProduct(a[0 * lda + r], u0)
        }
        out[0 * ldo + j] = t0
        j += 1
    }
}

@inline(never)
func rowDots2F32(nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                  w: UnsafePointer<Float>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    typealias W = FloatWeights
    let k16 = k & ~15
    var j = 0
    while j + 2 <= nc {
        var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s10 = SIMD16<Float>(), s11 = SIMD16<Float>()
        let w0 = w + j * ldw, w1 = w0 + ldw
        var p = 0
        while p < k16 {
            if p & 63 == 0 { prefetchAhead(w0 + p, ldw * MemoryLayout<W.E>.stride) }
            let v0 = W.load(w0 + p), v1 = W.load(w1 + p)
            let x0 = load16(a + 0 * lda + p)
            s00.addProduct(x0, v0)
            s01.addProduct(x0, v1)
            let x1 = load16(a + 1 * lda + p)
            s10.addProduct(x1, v0)
            s11.addProduct(x1, v1)
            p += 16
        }
        var t00 = hsum(s00)
        var t01 = hsum(s01)
        var t10 = hsum(s10)
        var t11 = hsum(s11)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            let u1 = W.scalar(w1 + r)
            let y0 = a[0 * lda + r]
            t00 = t00.addingProduct(y0, u0)
            t01 = t01.addingProduct(y0, u1)
            let y1 = a[1 * lda + r]
            t10 = t10.addingProduct(y1, u0)
            t11 = t11.addingProduct(y1, u1)
        }
        out[0 * ldo + j] = t00; out[0 * ldo + j + 1] = t01
        out[1 * ldo + j] = t10; out[1 * ldo + j + 1] = t11
        j += 2
    }
    while j < nc {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
        let w0 = w + j * ldw
        var p = 0
        while p < k16 {
            let v0 = W.load(w0 + p)
            s0.addProduct(load16(a + 0 * lda + p), v0)
            s1.addProduct(load16(a + 1 * lda + p), v0)
            p += 16
        }
        var t0 = hsum(s0)
        var t1 = hsum(s1)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            t0 = t0.addingProduct(a[0 * lda + r], u0)
            t1 = t1.addingProduct(a[1 * lda + r], u0)
        }
        out[0 * ldo + j] = t0
        out[1 * ldo + j] = t1
        j += 1
    }
}

@inline(never)
func rowDots3F32(nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                  w: UnsafePointer<Float>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    typealias W = FloatWeights
    let k16 = k & ~15
    var j = 0
    while j + 2 <= nc {
        var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s10 = SIMD16<Float>(), s11 = SIMD16<Float>(), s20 = SIMD16<Float>(), s21 = SIMD16<Float>()
        let w0 = w + j * ldw, w1 = w0 + ldw
        var p = 0
        while p < k16 {
            if p & 63 == 0 { prefetchAhead(w0 + p, ldw * MemoryLayout<W.E>.stride) }
            let v0 = W.load(w0 + p), v1 = W.load(w1 + p)
            let x0 = load16(a + 0 * lda + p)
            s00.addProduct(x0, v0)
            s01.addProduct(x0, v1)
            let x1 = load16(a + 1 * lda + p)
            s10.addProduct(x1, v0)
            s11.addProduct(x1, v1)
            let x2 = load16(a + 2 * lda + p)
            s20.addProduct(x2, v0)
            s21.addProduct(x2, v1)
            p += 16
        }
        var t00 = hsum(s00)
        var t01 = hsum(s01)
        var t10 = hsum(s10)
        var t11 = hsum(s11)
        var t20 = hsum(s20)
        var t21 = hsum(s21)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            let u1 = W.scalar(w1 + r)
            let y0 = a[0 * lda + r]
            t00 = t00.addingProduct(y0, u0)
            t01 = t01.addingProduct(y0, u1)
            let y1 = a[1 * lda + r]
            t10 = t10.addingProduct(y1, u0)
            t11 = t11.addingProduct(y1, u1)
            let y2 = a[2 * lda + r]
            t20 = t20.addingProduct(y2, u0)
            t21 = t21.addingProduct(y2, u1)
        }
        out[0 * ldo + j] = t00; out[0 * ldo + j + 1] = t01
        out[1 * ldo + j] = t10; out[1 * ldo + j + 1] = t11
        out[2 * ldo + j] = t20; out[2 * ldo + j + 1] = t21
        j += 2
    }
    while j < nc {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>()
        let w0 = w + j * ldw
        var p = 0
        while p < k16 {
            let v0 = W.load(w0 + p)
            s0.addProduct(load16(a + 0 * lda + p), v0)
            s1.addProduct(load16(a + 1 * lda + p), v0)
            s2.addProduct(load16(a + 2 * lda + p), v0)
            p += 16
        }
        var t0 = hsum(s0)
        var t1 = hsum(s1)
        var t2 = hsum(s2)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            t0 = t0.addingProduct(a[0 * lda + r], u0)
            t1 = t1.addingProduct(a[1 * lda + r], u0)
            t2 = t2.addingProduct(a[2 * lda + r], u0)
        }
        out[0 * ldo + j] = t0
        out[1 * ldo + j] = t1
        out[2 * ldo + j] = t2
        j += 1
    }
}

@inline(never)
func rowDots4F32(nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                  w: UnsafePointer<Float>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    typealias W = FloatWeights
    let k16 = k & ~15
    var j = 0
    while j + 2 <= nc {
        var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s10 = SIMD16<Float>(), s11 = SIMD16<Float>(), s20 = SIMD16<Float>(), s21 = SIMD16<Float>(), s30 = SIMD16<Float>(), s31 = SIMD16<Float>()
        let w0 = w + j * ldw, w1 = w0 + ldw
        var p = 0
        while p < k16 {
            if p & 63 == 0 { prefetchAhead(w0 + p, ldw * MemoryLayout<W.E>.stride) }
            let v0 = W.load(w0 + p), v1 = W.load(w1 + p)
            let x0 = load16(a + 0 * lda + p)
            s00.addProduct(x0, v0)
            s01.addProduct(x0, v1)
            let x1 = load16(a + 1 * lda + p)
            s10.addProduct(x1, v0)
            s11.addProduct(x1, v1)
            let x2 = load16(a + 2 * lda + p)
            s20.addProduct(x2, v0)
            s21.addProduct(x2, v1)
            let x3 = load16(a + 3 * lda + p)
            s30.addProduct(x3, v0)
            s31.addProduct(x3, v1)
            p += 16
        }
        var t00 = hsum(s00)
        var t01 = hsum(s01)
        var t10 = hsum(s10)
        var t11 = hsum(s11)
        var t20 = hsum(s20)
        var t21 = hsum(s21)
        var t30 = hsum(s30)
        var t31 = hsum(s31)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            let u1 = W.scalar(w1 + r)
            let y0 = a[0 * lda + r]
            t00 = t00.addingProduct(y0, u0)
            t01 = t01.addingProduct(y0, u1)
            let y1 = a[1 * lda + r]
            t10 = t10.addingProduct(y1, u0)
            t11 = t11.addingProduct(y1, u1)
            let y2 = a[2 * lda + r]
            t20 = t20.addingProduct(y2, u0)
            t21 = t21.addingProduct(y2, u1)
            let y3 = a[3 * lda + r]
            t30 = t30.addingProduct(y3, u0)
            t31 = t31.addingProduct(y3, u1)
        }
        out[0 * ldo + j] = t00; out[0 * ldo + j + 1] = t01
        out[1 * ldo + j] = t10; out[1 * ldo + j + 1] = t11
        out[2 * ldo + j] = t20; out[2 * ldo + j + 1] = t21
        out[3 * ldo + j] = t30; out[3 * ldo + j + 1] = t31
        j += 2
    }
    while j < nc {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
        let w0 = w + j * ldw
        var p = 0
        while p < k16 {
            let v0 = W.load(w0 + p)
            s0.addProduct(load16(a + 0 * lda + p), v0)
            s1.addProduct(load16(a + 1 * lda + p), v0)
            s2.addProduct(load16(a + 2 * lda + p), v0)
            s3.addProduct(load16(a + 3 * lda + p), v0)
            p += 16
        }
        var t0 = hsum(s0)
        var t1 = hsum(s1)
        var t2 = hsum(s2)
        var t3 = hsum(s3)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            t0 = t0.addingProduct(a[0 * lda + r], u0)
            t1 = t1.addingProduct(a[1 * lda + r], u0)
            t2 = t2.addingProduct(a[2 * lda + r], u0)
            t3 = t3.addingProduct(a[3 * lda + r], u0)
        }
        out[0 * ldo + j] = t0
        out[1 * ldo + j] = t1
        out[2 * ldo + j] = t2
        out[3 * ldo + j] = t3
        j += 1
    }
}

@inline(never)
func rowDots5F32(nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                  w: UnsafePointer<Float>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    typealias W = FloatWeights
    let k16 = k & ~15
    var j = 0
    while j + 2 <= nc {
        var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s10 = SIMD16<Float>(), s11 = SIMD16<Float>(), s20 = SIMD16<Float>(), s21 = SIMD16<Float>(), s30 = SIMD16<Float>(), s31 = SIMD16<Float>(), s40 = SIMD16<Float>(), s41 = SIMD16<Float>()
        let w0 = w + j * ldw, w1 = w0 + ldw
        var p = 0
        while p < k16 {
            if p & 63 == 0 { prefetchAhead(w0 + p, ldw * MemoryLayout<W.E>.stride) }
            let v0 = W.load(w0 + p), v1 = W.load(w1 + p)
            let x0 = load16(a + 0 * lda + p)
            s00.addProduct(x0, v0)
            s01.addProduct(x0, v1)
            let x1 = load16(a + 1 * lda + p)
            s10.addProduct(x1, v0)
            s11.addProduct(x1, v1)
            let x2 = load16(a + 2 * lda + p)
            s20.addProduct(x2, v0)
            s21.addProduct(x2, v1)
            let x3 = load16(a + 3 * lda + p)
            s30.addProduct(x3, v0)
            s31.addProduct(x3, v1)
            let x4 = load16(a + 4 * lda + p)
            s40.addProduct(x4, v0)
            s41.addProduct(x4, v1)
            p += 16
        }
        var t00 = hsum(s00)
        var t01 = hsum(s01)
        var t10 = hsum(s10)
        var t11 = hsum(s11)
        var t20 = hsum(s20)
        var t21 = hsum(s21)
        var t30 = hsum(s30)
        var t31 = hsum(s31)
        var t40 = hsum(s40)
        var t41 = hsum(s41)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            let u1 = W.scalar(w1 + r)
            let y0 = a[0 * lda + r]
            t00 = t00.addingProduct(y0, u0)
            t01 = t01.addingProduct(y0, u1)
            let y1 = a[1 * lda + r]
            t10 = t10.addingProduct(y1, u0)
            t11 = t11.addingProduct(y1, u1)
            let y2 = a[2 * lda + r]
            t20 = t20.addingProduct(y2, u0)
            t21 = t21.addingProduct(y2, u1)
            let y3 = a[3 * lda + r]
            t30 = t30.addingProduct(y3, u0)
            t31 = t31.addingProduct(y3, u1)
            let y4 = a[4 * lda + r]
            t40 = t40.addingProduct(y4, u0)
            t41 = t41.addingProduct(y4, u1)
        }
        out[0 * ldo + j] = t00; out[0 * ldo + j + 1] = t01
        out[1 * ldo + j] = t10; out[1 * ldo + j + 1] = t11
        out[2 * ldo + j] = t20; out[2 * ldo + j + 1] = t21
        out[3 * ldo + j] = t30; out[3 * ldo + j + 1] = t31
        out[4 * ldo + j] = t40; out[4 * ldo + j + 1] = t41
        j += 2
    }
    while j < nc {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>(), s4 = SIMD16<Float>()
        let w0 = w + j * ldw
        var p = 0
        while p < k16 {
            let v0 = W.load(w0 + p)
            s0.addProduct(load16(a + 0 * lda + p), v0)
            s1.addProduct(load16(a + 1 * lda + p), v0)
            s2.addProduct(load16(a + 2 * lda + p), v0)
            s3.addProduct(load16(a + 3 * lda + p), v0)
            s4.addProduct(load16(a + 4 * lda + p), v0)
            p += 16
        }
        var t0 = hsum(s0)
        var t1 = hsum(s1)
        var t2 = hsum(s2)
        var t3 = hsum(s3)
        var t4 = hsum(s4)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            t0 = t0.addingProduct(a[0 * lda + r], u0)
            t1 = t1.addingProduct(a[1 * lda + r], u0)
            t2 = t2.addingProduct(a[2 * lda + r], u0)
            t3 = t3.addingProduct(a[3 * lda + r], u0)
            t4 = t4.addingProduct(a[4 * lda + r], u0)
        }
        out[0 * ldo + j] = t0
        out[1 * ldo + j] = t1
        out[2 * ldo + j] = t2
        out[3 * ldo + j] = t3
        out[4 * ldo + j] = t4
        j += 1
    }
}

@inline(never)
func rowDots6F32(nc: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                  w: UnsafePointer<Float>, ldw: Int, out: UnsafeMutablePointer<Float>, ldo: Int) {
    typealias W = FloatWeights
    let k16 = k & ~15
    var j = 0
    while j + 2 <= nc {
        var s00 = SIMD16<Float>(), s01 = SIMD16<Float>(), s10 = SIMD16<Float>(), s11 = SIMD16<Float>(), s20 = SIMD16<Float>(), s21 = SIMD16<Float>(), s30 = SIMD16<Float>(), s31 = SIMD16<Float>(), s40 = SIMD16<Float>(), s41 = SIMD16<Float>(), s50 = SIMD16<Float>(), s51 = SIMD16<Float>()
        let w0 = w + j * ldw, w1 = w0 + ldw
        var p = 0
        while p < k16 {
            if p & 63 == 0 { prefetchAhead(w0 + p, ldw * MemoryLayout<W.E>.stride) }
            let v0 = W.load(w0 + p), v1 = W.load(w1 + p)
            let x0 = load16(a + 0 * lda + p)
            s00.addProduct(x0, v0)
            s01.addProduct(x0, v1)
            let x1 = load16(a + 1 * lda + p)
            s10.addProduct(x1, v0)
            s11.addProduct(x1, v1)
            let x2 = load16(a + 2 * lda + p)
            s20.addProduct(x2, v0)
            s21.addProduct(x2, v1)
            let x3 = load16(a + 3 * lda + p)
            s30.addProduct(x3, v0)
            s31.addProduct(x3, v1)
            let x4 = load16(a + 4 * lda + p)
            s40.addProduct(x4, v0)
            s41.addProduct(x4, v1)
            let x5 = load16(a + 5 * lda + p)
            s50.addProduct(x5, v0)
            s51.addProduct(x5, v1)
            p += 16
        }
        var t00 = hsum(s00)
        var t01 = hsum(s01)
        var t10 = hsum(s10)
        var t11 = hsum(s11)
        var t20 = hsum(s20)
        var t21 = hsum(s21)
        var t30 = hsum(s30)
        var t31 = hsum(s31)
        var t40 = hsum(s40)
        var t41 = hsum(s41)
        var t50 = hsum(s50)
        var t51 = hsum(s51)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            let u1 = W.scalar(w1 + r)
            let y0 = a[0 * lda + r]
            t00 = t00.addingProduct(y0, u0)
            t01 = t01.addingProduct(y0, u1)
            let y1 = a[1 * lda + r]
            t10 = t10.addingProduct(y1, u0)
            t11 = t11.addingProduct(y1, u1)
            let y2 = a[2 * lda + r]
            t20 = t20.addingProduct(y2, u0)
            t21 = t21.addingProduct(y2, u1)
            let y3 = a[3 * lda + r]
            t30 = t30.addingProduct(y3, u0)
            t31 = t31.addingProduct(y3, u1)
            let y4 = a[4 * lda + r]
            t40 = t40.addingProduct(y4, u0)
            t41 = t41.addingProduct(y4, u1)
            let y5 = a[5 * lda + r]
            t50 = t50.addingProduct(y5, u0)
            t51 = t51.addingProduct(y5, u1)
        }
        out[0 * ldo + j] = t00; out[0 * ldo + j + 1] = t01
        out[1 * ldo + j] = t10; out[1 * ldo + j + 1] = t11
        out[2 * ldo + j] = t20; out[2 * ldo + j + 1] = t21
        out[3 * ldo + j] = t30; out[3 * ldo + j + 1] = t31
        out[4 * ldo + j] = t40; out[4 * ldo + j + 1] = t41
        out[5 * ldo + j] = t50; out[5 * ldo + j + 1] = t51
        j += 2
    }
    while j < nc {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>(), s4 = SIMD16<Float>(), s5 = SIMD16<Float>()
        let w0 = w + j * ldw
        var p = 0
        while p < k16 {
            let v0 = W.load(w0 + p)
            s0.addProduct(load16(a + 0 * lda + p), v0)
            s1.addProduct(load16(a + 1 * lda + p), v0)
            s2.addProduct(load16(a + 2 * lda + p), v0)
            s3.addProduct(load16(a + 3 * lda + p), v0)
            s4.addProduct(load16(a + 4 * lda + p), v0)
            s5.addProduct(load16(a + 5 * lda + p), v0)
            p += 16
        }
        var t0 = hsum(s0)
        var t1 = hsum(s1)
        var t2 = hsum(s2)
        var t3 = hsum(s3)
        var t4 = hsum(s4)
        var t5 = hsum(s5)
        for r in k16..<k {
            let u0 = W.scalar(w0 + r)
            t0 = t0.addingProduct(a[0 * lda + r], u0)
            t1 = t1.addingProduct(a[1 * lda + r], u0)
            t2 = t2.addingProduct(a[2 * lda + r], u0)
            t3 = t3.addingProduct(a[3 * lda + r], u0)
            t4 = t4.addingProduct(a[4 * lda + r], u0)
            t5 = t5.addingProduct(a[5 * lda + r], u0)
        }
        out[0 * ldo + j] = t0
        out[1 * ldo + j] = t1
        out[2 * ldo + j] = t2
        out[3 * ldo + j] = t3
        out[4 * ldo + j] = t4
        out[5 * ldo + j] = t5
        j += 1
    }
}

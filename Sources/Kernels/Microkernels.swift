// Float32 register-blocked microkernels: MR rows x (16 * NV) columns, SIMD16<Float> FMA.
// Written out per shape (the compiler keeps every accumulator in a zmm register);
// `f32Microkernel` dispatches on the row count.
//
// Every output is one fused multiply-add chain over p in increasing order, starting from
// 0 or from the value in C, so splitting K into blocks (storing C in between) or
// choosing other row/column tilings never changes a result bit.

/// c[i*ldc + j] (= or +=) Σ_{p<kc} a[i][p*aStep] * b[p*ldb + j]  for i < rows, j < 16*nv.
/// rows in 1...8 (split into 8/4/2/1 kernels), nv in {1, 2}. With `accumulate` false the
/// chain starts at 0 (C is only written).
@inline(__always)
func f32Microkernel(rows: Int, nv: Int, kc: Int, a: UnsafePointer<UnsafePointer<Float>>, aStep: Int,
                    b: UnsafePointer<Float>, ldb: Int,
                    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    var i = 0
    while i < rows {
        let r = rows - i
        let cc = c + i * ldc
        if r >= 8 {
            if nv == 2 { mk8x32(kc, a + i, aStep, b, ldb, cc, ldc, accumulate) } else { mk8x16(kc, a + i, aStep, b, ldb, cc, ldc, accumulate) }
            i += 8
        } else if r >= 4 {
            if nv == 2 { mk4x32(kc, a + i, aStep, b, ldb, cc, ldc, accumulate) } else { mk4x16(kc, a + i, aStep, b, ldb, cc, ldc, accumulate) }
            i += 4
        } else if r >= 2 {
            if nv == 2 { mk2x32(kc, a + i, aStep, b, ldb, cc, ldc, accumulate) } else { mk2x16(kc, a + i, aStep, b, ldb, cc, ldc, accumulate) }
            i += 2
        } else {
            if nv == 2 { mk1x32(kc, a + i, aStep, b, ldb, cc, ldc, accumulate) } else { mk1x16(kc, a + i, aStep, b, ldb, cc, ldc, accumulate) }
            i += 1
        }
    }
}

@inline(never)
func mk8x32(_ kc: Int, _ a: UnsafePointer<UnsafePointer<Float>>, _ aStep: Int,
             _ b: UnsafePointer<Float>, _ ldb: Int,
             _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    let a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4], a5 = a[5], a6 = a[6], a7 = a[7]
    let craw = UnsafeMutableRawPointer(c), ldcb = ldc * 4
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>(), c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c30 = SIMD16<Float>(), c31 = SIMD16<Float>(), c40 = SIMD16<Float>(), c41 = SIMD16<Float>(), c50 = SIMD16<Float>(), c51 = SIMD16<Float>(), c60 = SIMD16<Float>(), c61 = SIMD16<Float>(), c70 = SIMD16<Float>(), c71 = SIMD16<Float>()
    if accumulate {
        c00 = craw.loadUnaligned(fromByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
        c01 = craw.loadUnaligned(fromByteOffset: 0 * ldcb + 64, as: SIMD16<Float>.self)
        c10 = craw.loadUnaligned(fromByteOffset: 1 * ldcb + 0, as: SIMD16<Float>.self)
        c11 = craw.loadUnaligned(fromByteOffset: 1 * ldcb + 64, as: SIMD16<Float>.self)
        c20 = craw.loadUnaligned(fromByteOffset: 2 * ldcb + 0, as: SIMD16<Float>.self)
        c21 = craw.loadUnaligned(fromByteOffset: 2 * ldcb + 64, as: SIMD16<Float>.self)
        c30 = craw.loadUnaligned(fromByteOffset: 3 * ldcb + 0, as: SIMD16<Float>.self)
        c31 = craw.loadUnaligned(fromByteOffset: 3 * ldcb + 64, as: SIMD16<Float>.self)
        c40 = craw.loadUnaligned(fromByteOffset: 4 * ldcb + 0, as: SIMD16<Float>.self)
        c41 = craw.loadUnaligned(fromByteOffset: 4 * ldcb + 64, as: SIMD16<Float>.self)
        c50 = craw.loadUnaligned(fromByteOffset: 5 * ldcb + 0, as: SIMD16<Float>.self)
        c51 = craw.loadUnaligned(fromByteOffset: 5 * ldcb + 64, as: SIMD16<Float>.self)
        c60 = craw.loadUnaligned(fromByteOffset: 6 * ldcb + 0, as: SIMD16<Float>.self)
        c61 = craw.loadUnaligned(fromByteOffset: 6 * ldcb + 64, as: SIMD16<Float>.self)
        c70 = craw.loadUnaligned(fromByteOffset: 7 * ldcb + 0, as: SIMD16<Float>.self)
        c71 = craw.loadUnaligned(fromByteOffset: 7 * ldcb + 64, as: SIMD16<Float>.self)
    }
    var bp = UnsafeRawPointer(b)
    let ldbb = ldb * 4
    var off = 0
    for _ in 0..<kc {
        let w0 = bp.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
        let w1 = bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        bp += ldbb
        let x0 = SIMD16<Float>(repeating: a0[off])
        c00.addProduct(x0, w0)
        c01.addProduct(x0, w1)
        let x1 = SIMD16<Float>(repeating: a1[off])
        c10.addProduct(x1, w0)
        c11.addProduct(x1, w1)
        let x2 = SIMD16<Float>(repeating: a2[off])
        c20.addProduct(x2, w0)
        c21.addProduct(x2, w1)
        let x3 = SIMD16<Float>(repeating: a3[off])
        c30.addProduct(x3, w0)
        c31.addProduct(x3, w1)
        let x4 = SIMD16<Float>(repeating: a4[off])
        c40.addProduct(x4, w0)
        c41.addProduct(x4, w1)
        let x5 = SIMD16<Float>(repeating: a5[off])
        c50.addProduct(x5, w0)
        c51.addProduct(x5, w1)
        let x6 = SIMD16<Float>(repeating: a6[off])
        c60.addProduct(x6, w0)
        c61.addProduct(x6, w1)
        let x7 = SIMD16<Float>(repeating: a7[off])
        c70.addProduct(x7, w0)
        c71.addProduct(x7, w1)
        off &+= aStep
    }
    craw.storeBytes(of: c00, toByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c01, toByteOffset: 0 * ldcb + 64, as: SIMD16<Float>.self)
    craw.storeBytes(of: c10, toByteOffset: 1 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c11, toByteOffset: 1 * ldcb + 64, as: SIMD16<Float>.self)
    craw.storeBytes(of: c20, toByteOffset: 2 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c21, toByteOffset: 2 * ldcb + 64, as: SIMD16<Float>.self)
    craw.storeBytes(of: c30, toByteOffset: 3 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c31, toByteOffset: 3 * ldcb + 64, as: SIMD16<Float>.self)
    craw.storeBytes(of: c40, toByteOffset: 4 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c41, toByteOffset: 4 * ldcb + 64, as: SIMD16<Float>.self)
    craw.storeBytes(of: c50, toByteOffset: 5 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c51, toByteOffset: 5 * ldcb + 64, as: SIMD16<Float>.self)
    craw.storeBytes(of: c60, toByteOffset: 6 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c61, toByteOffset: 6 * ldcb + 64, as: SIMD16<Float>.self)
    craw.storeBytes(of: c70, toByteOffset: 7 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c71, toByteOffset: 7 * ldcb + 64, as: SIMD16<Float>.self)
}

@inline(never)
func mk8x16(_ kc: Int, _ a: UnsafePointer<UnsafePointer<Float>>, _ aStep: Int,
             _ b: UnsafePointer<Float>, _ ldb: Int,
             _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    let a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4], a5 = a[5], a6 = a[6], a7 = a[7]
    let craw = UnsafeMutableRawPointer(c), ldcb = ldc * 4
    var c00 = SIMD16<Float>(), c10 = SIMD16<Float>(), c20 = SIMD16<Float>(), c30 = SIMD16<Float>(), c40 = SIMD16<Float>(), c50 = SIMD16<Float>(), c60 = SIMD16<Float>(), c70 = SIMD16<Float>()
    if accumulate {
        c00 = craw.loadUnaligned(fromByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
        c10 = craw.loadUnaligned(fromByteOffset: 1 * ldcb + 0, as: SIMD16<Float>.self)
        c20 = craw.loadUnaligned(fromByteOffset: 2 * ldcb + 0, as: SIMD16<Float>.self)
        c30 = craw.loadUnaligned(fromByteOffset: 3 * ldcb + 0, as: SIMD16<Float>.self)
        c40 = craw.loadUnaligned(fromByteOffset: 4 * ldcb + 0, as: SIMD16<Float>.self)
        c50 = craw.loadUnaligned(fromByteOffset: 5 * ldcb + 0, as: SIMD16<Float>.self)
        c60 = craw.loadUnaligned(fromByteOffset: 6 * ldcb + 0, as: SIMD16<Float>.self)
        c70 = craw.loadUnaligned(fromByteOffset: 7 * ldcb + 0, as: SIMD16<Float>.self)
    }
    var bp = UnsafeRawPointer(b)
    let ldbb = ldb * 4
    var off = 0
    for _ in 0..<kc {
        let w0 = bp.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
        bp += ldbb
        let x0 = SIMD16<Float>(repeating: a0[off])
        c00.addProduct(x0, w0)
        let x1 = SIMD16<Float>(repeating: a1[off])
        c10.addProduct(x1, w0)
        let x2 = SIMD16<Float>(repeating: a2[off])
        c20.addProduct(x2, w0)
        let x3 = SIMD16<Float>(repeating: a3[off])
        c30.addProduct(x3, w0)
        let x4 = SIMD16<Float>(repeating: a4[off])
        c40.addProduct(x4, w0)
        let x5 = SIMD16<Float>(repeating: a5[off])
        c50.addProduct(x5, w0)
        let x6 = SIMD16<Float>(repeating: a6[off])
        c60.addProduct(x6, w0)
        let x7 = SIMD16<Float>(repeating: a7[off])
        c70.addProduct(x7, w0)
        off &+= aStep
    }
    craw.storeBytes(of: c00, toByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c10, toByteOffset: 1 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c20, toByteOffset: 2 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c30, toByteOffset: 3 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c40, toByteOffset: 4 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c50, toByteOffset: 5 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c60, toByteOffset: 6 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c70, toByteOffset: 7 * ldcb + 0, as: SIMD16<Float>.self)
}

@inline(never)
func mk4x32(_ kc: Int, _ a: UnsafePointer<UnsafePointer<Float>>, _ aStep: Int,
             _ b: UnsafePointer<Float>, _ ldb: Int,
             _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    let a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3]
    let craw = UnsafeMutableRawPointer(c), ldcb = ldc * 4
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>(), c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
    if accumulate {
        c00 = craw.loadUnaligned(fromByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
        c01 = craw.loadUnaligned(fromByteOffset: 0 * ldcb + 64, as: SIMD16<Float>.self)
        c10 = craw.loadUnaligned(fromByteOffset: 1 * ldcb + 0, as: SIMD16<Float>.self)
        c11 = craw.loadUnaligned(fromByteOffset: 1 * ldcb + 64, as: SIMD16<Float>.self)
        c20 = craw.loadUnaligned(fromByteOffset: 2 * ldcb + 0, as: SIMD16<Float>.self)
        c21 = craw.loadUnaligned(fromByteOffset: 2 * ldcb + 64, as: SIMD16<Float>.self)
        c30 = craw.loadUnaligned(fromByteOffset: 3 * ldcb + 0, as: SIMD16<Float>.self)
        c31 = craw.loadUnaligned(fromByteOffset: 3 * ldcb + 64, as: SIMD16<Float>.self)
    }
    var bp = UnsafeRawPointer(b)
    let ldbb = ldb * 4
    var off = 0
    for _ in 0..<kc {
        let w0 = bp.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
        let w1 = bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        bp += ldbb
        let x0 = SIMD16<Float>(repeating: a0[off])
        c00.addProduct(x0, w0)
        c01.addProduct(x0, w1)
        let x1 = SIMD16<Float>(repeating: a1[off])
        c10.addProduct(x1, w0)
        c11.addProduct(x1, w1)
        let x2 = SIMD16<Float>(repeating: a2[off])
        c20.addProduct(x2, w0)
        c21.addProduct(x2, w1)
        let x3 = SIMD16<Float>(repeating: a3[off])
        c30.addProduct(x3, w0)
        c31.addProduct(x3, w1)
        off &+= aStep
    }
    craw.storeBytes(of: c00, toByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c01, toByteOffset: 0 * ldcb + 64, as: SIMD16<Float>.self)
    craw.storeBytes(of: c10, toByteOffset: 1 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c11, toByteOffset: 1 * ldcb + 64, as: SIMD16<Float>.self)
    craw.storeBytes(of: c20, toByteOffset: 2 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c21, toByteOffset: 2 * ldcb + 64, as: SIMD16<Float>.self)
    craw.storeBytes(of: c30, toByteOffset: 3 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c31, toByteOffset: 3 * ldcb + 64, as: SIMD16<Float>.self)
}

@inline(never)
func mk4x16(_ kc: Int, _ a: UnsafePointer<UnsafePointer<Float>>, _ aStep: Int,
             _ b: UnsafePointer<Float>, _ ldb: Int,
             _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    let a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3]
    let craw = UnsafeMutableRawPointer(c), ldcb = ldc * 4
    var c00 = SIMD16<Float>(), c10 = SIMD16<Float>(), c20 = SIMD16<Float>(), c30 = SIMD16<Float>()
    if accumulate {
        c00 = craw.loadUnaligned(fromByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
        c10 = craw.loadUnaligned(fromByteOffset: 1 * ldcb + 0, as: SIMD16<Float>.self)
        c20 = craw.loadUnaligned(fromByteOffset: 2 * ldcb + 0, as: SIMD16<Float>.self)
        c30 = craw.loadUnaligned(fromByteOffset: 3 * ldcb + 0, as: SIMD16<Float>.self)
    }
    var bp = UnsafeRawPointer(b)
    let ldbb = ldb * 4
    var off = 0
    for _ in 0..<kc {
        let w0 = bp.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
        bp += ldbb
        let x0 = SIMD16<Float>(repeating: a0[off])
        c00.addProduct(x0, w0)
        let x1 = SIMD16<Float>(repeating: a1[off])
        c10.addProduct(x1, w0)
        let x2 = SIMD16<Float>(repeating: a2[off])
        c20.addProduct(x2, w0)
        let x3 = SIMD16<Float>(repeating: a3[off])
        c30.addProduct(x3, w0)
        off &+= aStep
    }
    craw.storeBytes(of: c00, toByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c10, toByteOffset: 1 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c20, toByteOffset: 2 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c30, toByteOffset: 3 * ldcb + 0, as: SIMD16<Float>.self)
}

@inline(never)
func mk2x32(_ kc: Int, _ a: UnsafePointer<UnsafePointer<Float>>, _ aStep: Int,
             _ b: UnsafePointer<Float>, _ ldb: Int,
             _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    let a0 = a[0], a1 = a[1]
    let craw = UnsafeMutableRawPointer(c), ldcb = ldc * 4
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
    if accumulate {
        c00 = craw.loadUnaligned(fromByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
        c01 = craw.loadUnaligned(fromByteOffset: 0 * ldcb + 64, as: SIMD16<Float>.self)
        c10 = craw.loadUnaligned(fromByteOffset: 1 * ldcb + 0, as: SIMD16<Float>.self)
        c11 = craw.loadUnaligned(fromByteOffset: 1 * ldcb + 64, as: SIMD16<Float>.self)
    }
    var bp = UnsafeRawPointer(b)
    let ldbb = ldb * 4
    var off = 0
    for _ in 0..<kc {
        let w0 = bp.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
        let w1 = bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        bp += ldbb
        let x0 = SIMD16<Float>(repeating: a0[off])
        c00.addProduct(x0, w0)
        c01.addProduct(x0, w1)
        let x1 = SIMD16<Float>(repeating: a1[off])
        c10.addProduct(x1, w0)
        c11.addProduct(x1, w1)
        off &+= aStep
    }
    craw.storeBytes(of: c00, toByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c01, toByteOffset: 0 * ldcb + 64, as: SIMD16<Float>.self)
    craw.storeBytes(of: c10, toByteOffset: 1 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c11, toByteOffset: 1 * ldcb + 64, as: SIMD16<Float>.self)
}

@inline(never)
func mk2x16(_ kc: Int, _ a: UnsafePointer<UnsafePointer<Float>>, _ aStep: Int,
             _ b: UnsafePointer<Float>, _ ldb: Int,
             _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    let a0 = a[0], a1 = a[1]
    let craw = UnsafeMutableRawPointer(c), ldcb = ldc * 4
    var c00 = SIMD16<Float>(), c10 = SIMD16<Float>()
    if accumulate {
        c00 = craw.loadUnaligned(fromByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
        c10 = craw.loadUnaligned(fromByteOffset: 1 * ldcb + 0, as: SIMD16<Float>.self)
    }
    var bp = UnsafeRawPointer(b)
    let ldbb = ldb * 4
    var off = 0
    for _ in 0..<kc {
        let w0 = bp.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
        bp += ldbb
        let x0 = SIMD16<Float>(repeating: a0[off])
        c00.addProduct(x0, w0)
        let x1 = SIMD16<Float>(repeating: a1[off])
        c10.addProduct(x1, w0)
        off &+= aStep
    }
    craw.storeBytes(of: c00, toByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c10, toByteOffset: 1 * ldcb + 0, as: SIMD16<Float>.self)
}

@inline(never)
func mk1x32(_ kc: Int, _ a: UnsafePointer<UnsafePointer<Float>>, _ aStep: Int,
             _ b: UnsafePointer<Float>, _ ldb: Int,
             _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    let a0 = a[0]
    let craw = UnsafeMutableRawPointer(c), ldcb = ldc * 4
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
    if accumulate {
        c00 = craw.loadUnaligned(fromByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
        c01 = craw.loadUnaligned(fromByteOffset: 0 * ldcb + 64, as: SIMD16<Float>.self)
    }
    var bp = UnsafeRawPointer(b)
    let ldbb = ldb * 4
    var off = 0
    for _ in 0..<kc {
        let w0 = bp.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
        let w1 = bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        bp += ldbb
        let x0 = SIMD16<Float>(repeating: a0[off])
        c00.addProduct(x0, w0)
        c01.addProduct(x0, w1)
        off &+= aStep
    }
    craw.storeBytes(of: c00, toByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
    craw.storeBytes(of: c01, toByteOffset: 0 * ldcb + 64, as: SIMD16<Float>.self)
}

@inline(never)
func mk1x16(_ kc: Int, _ a: UnsafePointer<UnsafePointer<Float>>, _ aStep: Int,
             _ b: UnsafePointer<Float>, _ ldb: Int,
             _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
    let a0 = a[0]
    let craw = UnsafeMutableRawPointer(c), ldcb = ldc * 4
    var c00 = SIMD16<Float>()
    if accumulate {
        c00 = craw.loadUnaligned(fromByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
    }
    var bp = UnsafeRawPointer(b)
    let ldbb = ldb * 4
    var off = 0
    for _ in 0..<kc {
        let w0 = bp.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
        bp += ldbb
        let x0 = SIMD16<Float>(repeating: a0[off])
        c00.addProduct(x0, w0)
        off &+= aStep
    }
    craw.storeBytes(of: c00, toByteOffset: 0 * ldcb + 0, as: SIMD16<Float>.self)
}

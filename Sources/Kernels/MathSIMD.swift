// Vectorized transcendental functions shared by the kernels (exp, exact GELU, SiLU)
// and small SIMD helpers. All work on SIMD16<Float>; scalar callers pad into a vector so
// every element of a tensor goes through the same arithmetic.

/// e^x, relative error ≲ 2 ulp on [-87.3, 88.3]. Inputs are clamped to that range first:
/// below it the result is ≈ 1e-38 instead of 0, above it ≈ 2.4e38 instead of +inf.
@_transparent
func vexp(_ xIn: SIMD16<Float>) -> SIMD16<Float> {
    let x = vmin(vmax(xIn, SIMD16(repeating: -87.3365)), SIMD16(repeating: 88.3762))
    // x = n ln2 + r, |r| <= ln2/2; ln2 split in a high part exact in float and a low part.
    // Adding 1.5·2^23 rounds x·log2(e) to the nearest integer n, which then sits in the
    // low mantissa bits (no float->int conversion instruction needed).
    let shifted = vfma(x, SIMD16(repeating: 1.44269504088896341), 12582912)
    let n = shifted - 12582912
    var r = x
    r.addMul(n, SIMD16(repeating: -0.693359375))
    r.addMul(n, SIMD16(repeating: 2.12194440e-4))
    // e^r by its Taylor polynomial to r^7 (truncation error < 5e-9 relative on |r| <= 0.347).
    var p = SIMD16<Float>(repeating: 1.0 / 5040)
    p = vfma(p, r, 1.0 / 720)
    p = vfma(p, r, 1.0 / 120)
    p = vfma(p, r, 1.0 / 24)
    p = vfma(p, r, 1.0 / 6)
    p = vfma(p, r, 0.5)
    p = vfma(p, r, 1)
    p = vfma(p, r, 1)
    // 2^n through the exponent field (n in [-126, 127]).
    let ni = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
    let bits = (ni &+ 127) &<< 23
    return p * unsafeBitCast(bits, to: SIMD16<Float>.self)
}

/// erfc(|x|) for the GELU, after Press et al. (Numerical Recipes §6.2): t = 1/(1 + |x|/2),
/// erfc = t·exp(−x² + P(t)); fractional error < 1.2e-7 for every x.
@_transparent
func verfcAbs(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let z = vabs(x)
    let t = 1 / (1 + 0.5 * z)
    var p = SIMD16<Float>(repeating: 0.17087277)
    p = vfma(p, t, -0.82215223)
    p = vfma(p, t, 1.48851587)
    p = vfma(p, t, -1.13520398)
    p = vfma(p, t, 0.27886807)
    p = vfma(p, t, -0.18628806)
    p = vfma(p, t, 0.09678418)
    p = vfma(p, t, 0.37409196)
    p = vfma(p, t, 1.00002368)
    p = vfma(p, t, -1.26551223)
    var arg = p
    arg.addMul(SIMD16<Float>() - z, z)
    return t * vexp(arg)
}

/// Exact GELU, x/2·(1 + erf(x/√2)), within 1e-6·max(1, |gelu(x)|) of double.
/// Written as x − x/2·erfc(x/√2) for x ≥ 0 and x/2·erfc(−x/√2) for x < 0 so that the
/// negative tail keeps its relative accuracy.
@_transparent
func vgelu(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let e = verfcAbs(x * 0.70710678118654752)
    let h = 0.5 * x * e
    return (x - h).replacing(with: h, where: vless(x, SIMD16<Float>()))
}

/// SiLU, x·sigmoid(x) = x / (1 + e^−x). Below x = −88 (where e^−x leaves float range and
/// vexp clamps) the result is 0; the exact value there is below 1e-36 in magnitude.
@_transparent
func vsilu(_ x: SIMD16<Float>) -> SIMD16<Float> {
    (x / (1 + vexp(-x))).replacing(with: SIMD16<Float>(), where: vless(x, SIMD16(repeating: -88)))
}

// Comparisons go through vless (or vmax/vmin), whose operands are two typed SIMD16<Float>
// values, and blends take a vector, never a scalar. Written inline, both compilers the package
// supports can pick a generic, lane-by-lane form of the same comparison (a scalar compare and
// branch per lane, about 8 instructions per lane): Swift 6.0 for `x .< 0` and
// `replacing(with: 0, where:)` (its W8A8 encoder took 1.4 times as long), Swift 6.3 for
// `x .< SIMD16(repeating: -88)` (its SwiGLU took 3.7 % of the W8A8 decoder step instead of
// 1.8 %). tools/check-lane-loops.sh finds such loops in a built binary.

/// Lane-wise a < b, as one vector compare.
@inline(__always)
func vless(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMDMask<SIMD16<Int32>> { a .< b }

// Lane-wise min/max. The standard library's pointwiseMin/Max and clamped(...) are generic
// and were left as out-of-line calls; these compile to one compare and one blend.

/// Lane-wise maximum (b where a < b; a NaN in a is kept).
@inline(__always)
func vmax(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a.replacing(with: b, where: a .< b) }

/// Lane-wise minimum.
@inline(__always)
func vmin(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a.replacing(with: b, where: b .< a) }

/// |x| by clearing the sign bits.
@inline(__always)
func vabs(_ x: SIMD16<Float>) -> SIMD16<Float> {
    unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7fff_ffff, to: SIMD16<Float>.self)
}

/// a·b + c (`addingMul`: one rounding, or two in a REPTOK_NO_FMA build).
@inline(__always)
func vfma(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: Float) -> SIMD16<Float> {
    SIMD16<Float>(repeating: c).addingMul(a, b)
}

// Multiply-adds of the Swift kernels. Everywhere else they are fused multiply-adds (one
// rounding), so every level's float sums are the same FMA chains. A build for an x86-64 CPU
// without FMA (Package.swift defines REPTOK_NO_FMA) cannot issue one: the compiler keeps the
// single rounding by calling libm's fmaf for every lane, which ran the generic GEMM at 0.7
// GFLOP/s on a Zen 3 (whose fmaf is one instruction; a CPU without FMA computes it in
// software, slower still). There they are a multiply and an add (two roundings): float
// results move by about one rounding per product, within the 1e-5 relative budget the level
// tests give float products, and int8 values held as floats stay exact (every product and
// partial sum is an integer below 2^24, which both forms compute exactly).
extension SIMD where Scalar == Float {
    /// self + a·b.
    @_transparent
    func addingMul(_ a: Self, _ b: Self) -> Self {
        #if REPTOK_NO_FMA
        return self + a * b
        #else
        return addingProduct(a, b)
        #endif
    }

    /// self += a·b.
    @_transparent
    mutating func addMul(_ a: Self, _ b: Self) { self = addingMul(a, b) }
}

extension Float {
    /// self + a·b (scalar twin of `SIMD.addingMul`).
    @_transparent
    func addingMul(_ a: Float, _ b: Float) -> Float {
        #if REPTOK_NO_FMA
        return self + a * b
        #else
        return addingProduct(a, b)
        #endif
    }
}

/// Sum of the 16 lanes by a fixed tree (same order every call).
@inline(__always)
func hsum(_ v: SIMD16<Float>) -> Float {
    let a = v.lowHalf + v.highHalf
    let b = a.lowHalf + a.highHalf
    let c = b.lowHalf + b.highHalf
    return c[0] + c[1]
}

/// Maximum of the 16 lanes.
@inline(__always)
func hmax(_ v: SIMD16<Float>) -> Float {
    var m = v[0]
    for i in 1..<16 { m = max(m, v[i]) }
    return m
}

// Lane conversions. The standard library's SIMD conversion initializers are generic and
// stay lane-by-lane calls; these loops compile to single vpmovsxbd / vcvtdq2ps / vpmovdb.

/// Int8 lanes to float.
@inline(__always)
func vfloat(_ v: SIMD16<Int8>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = Float(v[i]) }
    return r
}

/// Int32 lanes to float (round to nearest).
@inline(__always)
func vfloat(_ v: SIMD16<Int32>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = Float(v[i]) }
    return r
}

/// Low byte of every Int32 lane.
@inline(__always)
func vnarrow(_ v: SIMD16<Int32>) -> SIMD16<Int8> {
    var r = SIMD16<Int8>()
    for i in 0..<16 { r[i] = Int8(truncatingIfNeeded: v[i]) }
    return r
}

/// Rounds to the nearest integer (ties to even) and converts, for |x| < 2^22: adding
/// 1.5·2^23 leaves the integer in the low mantissa bits.
@inline(__always)
func vroundToInt32(_ x: SIMD16<Float>) -> SIMD16<Int32> {
    unsafeBitCast(x + 12582912, to: SIMD16<Int32>.self) &- 0x4B40_0000
}

/// Loads `count` (< 16) floats into the low lanes of a vector, the rest `fill`: in at most
/// four pieces of 8, 4, 2 and 1 lanes (a 72-wide attention head's tail of 8 is one load),
/// never touching memory past p + count.
@inline(__always)
func loadPartial(_ p: UnsafePointer<Float>, _ count: Int, fill: Float = 0) -> SIMD16<Float> {
    let raw = UnsafeRawPointer(p)
    var v = SIMD16<Float>(repeating: fill)
    var off = 0
    if count & 8 != 0 {
        v.lowHalf = raw.loadUnaligned(as: SIMD8<Float>.self)
        off = 8
    }
    if count & 4 != 0 {
        let q = raw.loadUnaligned(fromByteOffset: off * 4, as: SIMD4<Float>.self)
        v[off] = q[0]; v[off + 1] = q[1]; v[off + 2] = q[2]; v[off + 3] = q[3]
        off += 4
    }
    if count & 2 != 0 {
        let q = raw.loadUnaligned(fromByteOffset: off * 4, as: SIMD2<Float>.self)
        v[off] = q[0]; v[off + 1] = q[1]
        off += 2
    }
    if count & 1 != 0 { v[off] = p[off] }
    return v
}

/// Stores the low `count` (< 16) lanes of a vector in at most four pieces of 8, 4, 2
/// and 1 lanes (instead of one scalar store per lane).
@inline(__always)
func storePartial(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    let raw = UnsafeMutableRawPointer(p)
    var off = 0
    if count & 8 != 0 {
        raw.storeBytes(of: v.lowHalf, as: SIMD8<Float>.self)
        off = 8
    }
    if count & 4 != 0 {
        let q = SIMD4<Float>(v[off], v[off + 1], v[off + 2], v[off + 3])
        raw.storeBytes(of: q, toByteOffset: off * 4, as: SIMD4<Float>.self)
        off += 4
    }
    if count & 2 != 0 {
        raw.storeBytes(of: SIMD2<Float>(v[off], v[off + 1]), toByteOffset: off * 4, as: SIMD2<Float>.self)
        off += 2
    }
    if count & 1 != 0 { p[off] = v[off] }
}


@inline(__always)
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

// Float32 natural logarithm and sine/cosine with exactly the arithmetic of PyTorch's x86 (AVX2)
// `randn` kernel, one lane at a time, so that our Box–Muller values equal PyTorch's bit for bit on
// any CPU. That kernel uses the Cephes single-precision polynomials (as in the widely used
// "sse_mathfun" adaptation) and its compiler fuses most multiply–add pairs into FMAs; which pairs
// are fused was measured against torch 2.13 (`tools/make-torch-rng-table.py`, 600,000 values,
// no difference). Every fused step below is written as an explicit `addingProduct`, which
// rounds once on every platform (an FMA instruction or the C library's `fmaf`), and every
// unfused step as separate `*` and `+` (Swift never contracts them), so x86 and ARM agree.

/// The Cephes-style float32 `log` and `sincos` of PyTorch's vectorized normal kernel.
public enum TorchVectorMath {
    // log: ln x = e·ln 2 + ln m, m in [√½, √2), ln 2 split into q2 + q1 for accuracy.
    static let sqrtHalf: Float = 0.707106781186547524
    static let logPoly: [Float] = [7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
                                   1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
                                   3.3333331174E-1]
    static let ln2Low: Float = -2.12194440e-4
    static let ln2High: Float = 0.693359375

    /// Natural logarithm of a float32 as the kernel computes it (valid for x > 0; the kernel only
    /// sees x in [2⁻²⁴, 1]). Subnormal inputs are raised to the smallest normal, as there.
    public static func log(_ input: Float) -> Float {
        let x0 = max(input, Float(bitPattern: 0x0080_0000))
        let bits = x0.bitPattern
        // Exponent e (with the +1 of a mantissa taken in [0.5, 1)), mantissa m in [0.5, 1).
        var e = Float(Int32(bitPattern: bits >> 23) - 127) + 1
        var m = Float(bitPattern: (bits & ~UInt32(0x7F80_0000)) | Float(0.5).bitPattern)
        // m < √½: use 2m − 1 and e − 1 (computed as (m − 1) + m), else m − 1.
        if m < sqrtHalf {
            e -= 1
            m = (m - 1) + m
        } else {
            m = m - 1
        }
        let z = m * m
        var y = logPoly[0]
        for c in logPoly.dropFirst() { y = c.addingProduct(y, m) }     // fused: y·m + c
        y = y * m
        y = (e * ln2Low).addingProduct(y, z)                           // fused: y·z + e·q1
        y = y.addingProduct(-z, 0.5)                                   // fused: y − z·½
        return (m + y).addingProduct(e, ln2High)                       // fused: (m + y) + e·q2
    }

    // sincos: reduce by multiples of π/4 (j even), Cody–Waite with three parts of π/4.
    static let fourOverPi: Float = 1.27323954473516
    static let piQuarterParts: [Float] = [-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8]
    static let sinPoly: [Float] = [-1.9515295891E-4, 8.3321608736E-3, -1.6666654611E-1]
    static let cosPoly: [Float] = [2.443315711809948E-005, -1.388731625493765E-003, 4.166664568298827E-002]

    /// Sine and cosine of a float32 as the kernel computes them (|x| below about 8192·π/4; the
    /// kernel only sees x in [0, 2π)).
    public static func sincos(_ input: Float) -> (sin: Float, cos: Float) {
        let negative = input.sign == .minus
        var x = abs(input)
        // j = trunc(x·4/π) rounded up to even; octant bits choose polynomial and signs.
        // (Out of int32 range or NaN, the instruction gives Int32.min; so do we.)
        let q = x * fourOverPi
        var j = q < 2_147_483_648 ? Int32(q) : Int32.min
        j = (j &+ 1) & ~1
        let y = Float(j)
        for part in piQuarterParts { x = x.addingProduct(y, part) }   // fused: x + y·part
        let sinFlip = (j & 4) != 0
        let cosFlip = ((~(j &- 2)) & 4) != 0
        let useSinPoly = (j & 2) == 0

        let z = x * x
        // cos polynomial: 1 − z/2 + z²·P(z)
        var c = cosPoly[1].addingProduct(cosPoly[0], z)
        c = cosPoly[2].addingProduct(c, z)
        c = c * z
        c = (-(z * 0.5)).addingProduct(c, z)                           // fused: c·z − z·½
        c = c + 1
        // sin polynomial: x + x·z·Q(z)
        var s = sinPoly[1].addingProduct(sinPoly[0], z)
        s = sinPoly[2].addingProduct(s, z)
        s = s * z
        s = x.addingProduct(s, x)                                      // fused: s·x + x

        var sine = useSinPoly ? s : c
        var cosine = useSinPoly ? c : s
        if negative != sinFlip { sine = -sine }
        if cosFlip { cosine = -cosine }
        return (sine, cosine)
    }
}

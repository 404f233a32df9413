// Weight quantization: per-output-channel symmetric int8, float16, and their error statistics.
import CKernels
import Foundation

/// Error of a lossy weight encoding, measured on the dequantized values.
public struct QuantError: Equatable, Sendable {
    /// ‖deq − w‖₂ / ‖w‖₂ (0 when w is all zero).
    public var relativeL2: Double
    /// max |deq − w|.
    public var maxAbs: Double

    public init(relativeL2: Double, maxAbs: Double) {
        self.relativeL2 = relativeL2
        self.maxAbs = maxAbs
    }
}

/// Per-output-channel symmetric int8 of a row-major `[rows, cols]` matrix.
///
/// `scale[r] = max_c |w[r,c]| / 127` (1 for an all-zero row; at least the smallest subnormal, so a row
/// of values below about 9·10⁻⁴⁴ does not divide by zero), `q = round(w / scale)` with ties away from
/// zero, clamped to [-127, 127]. Dequantization is `q × scale`; each weight's error is at most scale/2
/// (plus float rounding of the division). Values must be finite (the converter refuses others first).
///
/// Eight columns at a time in C (`rtk_quantize_row_i8`, the error sums in float64 lanes);
/// `quantizeInt8PerRowScalar` is the element-by-element reference: the same q and scales bit for
/// bit, the same error statistics up to the order of the float64 sums (relative differences near
/// 10⁻¹⁶).
/// - Returns: q `[rows, cols]`, scales `[rows]`, and the error over the whole matrix.
public func quantizeInt8PerRow(_ w: [Float], rows: Int, cols: Int) -> (q: [Int8], scales: [Float], error: QuantError) {
    precondition(w.count == rows * cols, "matrix size mismatch")
    var q = [Int8](repeating: 0, count: w.count)
    var scales = [Float](repeating: 1, count: rows)
    var sums = ErrorSums()
    w.withUnsafeBufferPointer { w in
        q.withUnsafeMutableBufferPointer { q in
            for r in 0 ..< rows {
                let x = w.baseAddress! + r * cols
                scales[r] = int8Scale(maxAbs: rtk_max_abs_f32(x, cols))
                sums.add { rtk_quantize_row_i8(x, cols, scales[r], q.baseAddress! + r * cols, $0) }
            }
        }
    }
    return (q, scales, sums.error)
}

/// The error sums of an encoding as the C kernels return them (`double sums[3]`: Σe², Σx², max |e|,
/// e = dequantized − original), added up over calls in call order.
struct ErrorSums {
    private(set) var errSq = 0.0, normSq = 0.0, maxAbs = 0.0

    /// Runs `kernel` with a pointer to three Doubles for its sums, adds them, and returns its result.
    mutating func add<R>(_ kernel: (UnsafeMutablePointer<Double>) -> R) -> R {
        var s = (0.0, 0.0, 0.0)
        let result = withUnsafeMutableBytes(of: &s) {  // three Doubles, contiguous
            kernel($0.baseAddress!.assumingMemoryBound(to: Double.self))
        }
        errSq += s.0
        normSq += s.1
        maxAbs = max(maxAbs, s.2)
        return result
    }

    var error: QuantError { QuantError(relativeL2: normSq > 0 ? (errSq / normSq).squareRoot() : 0, maxAbs: maxAbs) }
}

/// The element-by-element reference of `quantizeInt8PerRow` (the tests hold the fast one to it).
func quantizeInt8PerRowScalar(_ w: [Float], rows: Int, cols: Int) -> (q: [Int8], scales: [Float], error: QuantError) {
    precondition(w.count == rows * cols, "matrix size mismatch")
    var q = [Int8](repeating: 0, count: w.count)
    var scales = [Float](repeating: 1, count: rows)
    var errSq = 0.0, normSq = 0.0, maxAbs = 0.0
    for r in 0 ..< rows {
        let row = r * cols
        var m: Float = 0
        for c in 0 ..< cols { m = max(m, abs(w[row + c])) }
        let s = int8Scale(maxAbs: m)
        scales[r] = s
        for c in 0 ..< cols {
            let x = w[row + c]
            let v = min(max((x / s).rounded(.toNearestOrAwayFromZero), -127), 127)
            q[row + c] = Int8(v)
            let e = Double(v * s) - Double(x)
            errSq += e * e
            normSq += Double(x) * Double(x)
            maxAbs = max(maxAbs, abs(e))
        }
    }
    return (q, scales, QuantError(relativeL2: normSq > 0 ? (errSq / normSq).squareRoot() : 0, maxAbs: maxAbs))
}

/// The int8 scale of a row whose largest magnitude is `maxAbs`: maxAbs / 127, 1 for a zero row, and
/// never 0 (maxAbs / 127 underflows below about 9·10⁻⁴⁴, which would divide by zero).
@inline(__always)
func int8Scale(maxAbs m: Float) -> Float {
    m > 0 ? max(m / 127, .leastNonzeroMagnitude) : 1
}

/// float32 → float16 bit patterns (round to nearest even) and the error. Returns nil when a value is
/// outside the float16 range (it would round to infinity: |w| ≥ 65520). Values must be finite.
///
/// Eight values at a time in C (`rtk_f32_to_f16`, integer steps and the error sums in float64
/// lanes); `toFloat16Scalar`, through Swift's `Float16`, is the reference: the same bits, the
/// error statistics up to the order of their sums.
public func toFloat16(_ w: [Float]) -> (bits: [UInt16], error: QuantError)? {
    var bits = [UInt16](repeating: 0, count: w.count)
    var sums = ErrorSums()
    let overflow = bits.withUnsafeMutableBufferPointer { bits in
        sums.add { rtk_f32_to_f16(w, w.count, bits.baseAddress!, $0) }
    }
    guard overflow == 0 else { return nil }
    return (bits, sums.error)
}

/// The value-by-value reference of `toFloat16`.
func toFloat16Scalar(_ w: [Float]) -> (bits: [UInt16], error: QuantError)? {
    var bits = [UInt16](repeating: 0, count: w.count)
    var errSq = 0.0, normSq = 0.0, maxAbs = 0.0
    for i in w.indices {
        let h = Float16(w[i])
        guard h.isFinite else { return nil }
        bits[i] = h.bitPattern
        let e = Double(Float(h)) - Double(w[i])
        errSq += e * e
        normSq += Double(w[i]) * Double(w[i])
        maxAbs = max(maxAbs, abs(e))
    }
    return (bits, QuantError(relativeL2: normSq > 0 ? (errSq / normSq).squareRoot() : 0, maxAbs: maxAbs))
}

/// Separable antialiased bicubic weights (PyTorch `interpolate(mode="bicubic", antialias=True)`,
/// a = −0.5), in Float64. For output index i: s = inSize/outSize, center = s·(i+0.5), support 2·max(s,1),
/// taps ⌊center − support + 0.5⌋ … ⌊center + support + 0.5⌋ − 1 clipped to [0, inSize−1], weight
/// cubic((j − center + 0.5)/max(s,1)), normalized to sum 1 (docs/model.md, 'Encoder').
/// - Returns: per output index, the first tap and the weights.
public func antialiasedBicubicWeights(inSize: Int, outSize: Int) -> [(start: Int, weights: [Double])] {
    let a = -0.5
    func cubic(_ x: Double) -> Double {
        let t = abs(x)
        if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
        if t < 2 { return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a }
        return 0
    }
    let s = Double(inSize) / Double(outSize)
    let support = 2 * max(s, 1)
    let inv = 1 / max(s, 1)
    return (0 ..< outSize).map { i in
        let center = s * (Double(i) + 0.5)
        let lo = max(Int((center - support + 0.5).rounded(.down)), 0)
        let hi = min(Int((center + support + 0.5).rounded(.down)), inSize)
        var w = (lo ..< max(hi, lo)).map { cubic((Double($0) - center + 0.5) * inv) }
        let total = w.reduce(0, +)
        if total != 0 { w = w.map { $0 / total } }
        return (lo, w)
    }
}

/// The encoder's positional table for a g×g patch grid (docs/model.md, 'Encoder'): the cls row unchanged, then the
/// n×n grid (rows 1…n², channels last) resized to g×g with antialiased bicubic, in Float64.
/// - Parameters:
///   - table: `[1 + n², c]` row-major (the checkpoint's `pos_embed` without its leading 1).
/// - Returns: `[1 + g², c]` row-major.
public func resizePositionalTable(_ table: [Float], grid n: Int, channels c: Int, to g: Int) -> [Float] {
    precondition(table.count == (1 + n * n) * c, "positional table size mismatch")
    var out = [Float](repeating: 0, count: (1 + g * g) * c)
    for k in 0 ..< c { out[k] = table[k] }
    let wts = antialiasedBicubicWeights(inSize: n, outSize: g)
    // Pass 1: resize along x (columns): [n rows, g cols, c].
    var mid = [Double](repeating: 0, count: n * g * c)
    for y in 0 ..< n {
        for (x, (start, w)) in wts.enumerated() {
            let dst = (y * g + x) * c
            for (t, wt) in w.enumerated() {
                let src = c + (y * n + start + t) * c
                for k in 0 ..< c { mid[dst + k] += wt * Double(table[src + k]) }
            }
        }
    }
    // Pass 2: resize along y (rows): [g, g, c].
    for (y, (start, w)) in wts.enumerated() {
        for x in 0 ..< g {
            var acc = [Double](repeating: 0, count: c)
            for (t, wt) in w.enumerated() {
                let src = ((start + t) * g + x) * c
                for k in 0 ..< c { acc[k] += wt * mid[src + k] }
            }
            let dst = c + (y * g + x) * c
            for k in 0 ..< c { out[dst + k] = Float(acc[k]) }
        }
    }
    return out
}

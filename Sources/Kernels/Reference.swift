// Scalar reference implementations of every kernel. Slow, simple, accumulating in
// Double where that is cheap; the fast kernels are tested against these.
import Foundation

/// Scalar references, one per public kernel, with the same arguments (minus the
/// compute context). They define the semantics the fast paths must reproduce.
public enum Reference {

    // MARK: quantization of activations (W8A8)

    /// Symmetric per-row int8 quantization as used by W8A8:
    /// scale = max|x| / 127, q = roundToNearestEven(x * (127 / max|x|)), q ∈ [-127, 127].
    /// Two kinds of row get q = 0: one holding NaN or ±∞ gets scale NaN, so that its outputs
    /// are NaN as in float arithmetic; one of zeros, or whose max|x| is below
    /// 127 / Float.greatestFiniteMagnitude (≈ 3.7e-37, where 127 / max|x| overflows), gets
    /// scale 0. Returns the scale.
    @discardableResult
    public static func quantizeRow(_ x: UnsafePointer<Float>, count: Int,
                                   into q: UnsafeMutablePointer<Int8>) -> Float {
        var amax: Float = 0
        var finite = true
        for p in 0..<count { amax = max(amax, abs(x[p])); finite = finite && x[p].isFinite }
        let inv = 127 / amax
        guard finite, amax > 0, inv.isFinite else {
            for p in 0..<count { q[p] = 0 }
            return finite ? 0 : .nan
        }
        for p in 0..<count {
            let r = (x[p] * inv).rounded(.toNearestOrEven)
            q[p] = Int8(max(-127, min(127, r)))
        }
        return amax / 127
    }

    // MARK: GEMM

    /// C[i, j] (= or +=) colScale[j] * act( Σ_p A[i, p] * W[j, p] + bias[j] ).
    /// W8A32: Σ in Double over dequantized weights. W8A8 (int8 weights only): A row i is
    /// quantized with `quantizeRow`, Σ is the exact Int32 sum of q_a * q_w, times both scales.
    public static func matmul(_ a: UnsafePointer<Float>, lda: Int, m: Int,
                              _ w: WeightMatrix, bias: UnsafePointer<Float>?,
                              activation: Activation = .none, colScale: UnsafePointer<Float>? = nil,
                              accumulate: Bool = false,
                              into c: UnsafeMutablePointer<Float>, ldc: Int,
                              mode: MatrixMode = .w8a32) {
        let n = w.n, k = w.k
        let qa = UnsafeMutablePointer<Int8>.allocate(capacity: max(k, 1))
        defer { qa.deallocate() }
        for i in 0..<m {
            let row = a + i * lda
            var rowScale: Float = 0
            let useInt: Bool
            switch w.storage {
            case .i8, .q4: useInt = mode == .w8a8
            case .f32: useInt = false
            }
            if useInt { rowScale = quantizeRow(row, count: k, into: qa) }
            for j in 0..<n {
                var s: Double
                switch w.storage {
                case .f32(let wp):
                    s = 0
                    for p in 0..<k { s += Double(row[p]) * Double(wp[j * k + p]) }
                case .i8(let wq, let ws):
                    if useInt {
                        var acc: Int32 = 0
                        for p in 0..<k { acc += Int32(qa[p]) * Int32(wq[j * k + p]) }
                        s = Double(acc) * Double(rowScale) * Double(ws[j])
                    } else {
                        var t = 0.0
                        for p in 0..<k { t += Double(row[p]) * Double(wq[j * k + p]) }
                        s = t * Double(ws[j])
                    }
                case .q4:
                    if mode == .w8a8 {
                        s = Double(q4a8Raw(qa, rowScale: rowScale, w, j))
                    } else {
                        s = 0
                        for p in 0..<k { s += Double(row[p]) * Double(w.value(j, p)) }
                    }
                }
                if let bias { s += Double(bias[j]) }
                s = applyActivation(s, activation)
                if let colScale { s *= Double(colScale[j]) }
                let o = c + i * ldc + j
                o.pointee = accumulate ? o.pointee + Float(s) : Float(s)
            }
        }
    }

    /// W4A8 raw value of one output, the arithmetic every level's kernel follows: for each group g
    /// of 32 inputs, the exact integer S_g = Σ (nibble − 8) · q, then acc = fma(Float(S_g), d_g, acc)
    /// in increasing g from 0, and finally acc · rowScale (before bias, activation, column scale).
    static func q4a8Raw(_ qa: UnsafePointer<Int8>, rowScale: Float, _ w: WeightMatrix, _ j: Int) -> Float {
        guard case .q4(let b) = w.storage else { return 0 }
        let row = b + j * WeightMatrix.q4RowBytes(k: w.k)
        var acc: Float = 0
        for g in 0..<(w.k / 32) {
            let blk = row + g * 18
            let d = Float(Float16(bitPattern: UInt16(blk.load(as: UInt8.self)) | UInt16(blk.load(fromByteOffset: 1, as: UInt8.self)) << 8))
            var sum: Int32 = 0
            for p in 0..<32 {
                let byte = blk.load(fromByteOffset: 2 + p % 16, as: UInt8.self)
                let nib = Int32(p < 16 ? byte & 15 : byte >> 4)
                sum += (nib - 8) * Int32(qa[g * 32 + p])
            }
            acc = acc.addingProduct(Float(sum), d)
        }
        return acc * rowScale
    }

    /// C[m,n] = alpha * A[m,k] · B[k,n] (+ C if accumulate), Double accumulation.
    public static func sgemm(m: Int, n: Int, k: Int, alpha: Float,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a[i * lda + p]) * Double(b[p * ldb + j]) }
                let v = Float(Double(alpha) * s)
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + v : v
            }
        }
    }

    static func applyActivation(_ x: Double, _ act: Activation) -> Double {
        switch act {
        case .none: return x
        case .gelu: return geluD(x)
        case .silu: return x / (1 + Foundation.exp(-x))
        }
    }

    /// Exact GELU in double: x/2 · (1 + erf(x/√2)).
    public static func geluD(_ x: Double) -> Double { 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot())) }

    // MARK: attention

    /// Naive softmax attention in Double, one (head, query) at a time.
    public static func attention(q: UnsafePointer<Float>, qStride: Int,
                                 k: UnsafePointer<Float>, kStride: Int,
                                 v: UnsafePointer<Float>, vStride: Int,
                                 out: UnsafeMutablePointer<Float>, outStride: Int,
                                 tokens: Int, heads: Int, headDim: Int, scale: Float) {
        var logits = [Double](repeating: 0, count: tokens)
        var acc = [Double](repeating: 0, count: headDim)
        for h in 0..<heads {
            for t in 0..<tokens {
                let qr = q + t * qStride + h * headDim
                var mx = -Double.infinity
                for s in 0..<tokens {
                    let kr = k + s * kStride + h * headDim
                    var d = 0.0
                    for e in 0..<headDim { d += Double(qr[e]) * Double(kr[e]) }
                    logits[s] = d * Double(scale)
                    mx = max(mx, logits[s])
                }
                var sum = 0.0
                for s in 0..<tokens { logits[s] = Foundation.exp(logits[s] - mx); sum += logits[s] }
                for e in 0..<headDim { acc[e] = 0 }
                for s in 0..<tokens {
                    let vr = v + s * vStride + h * headDim
                    let p = logits[s] / sum
                    for e in 0..<headDim { acc[e] += p * Double(vr[e]) }
                }
                let o = out + t * outStride + h * headDim
                for e in 0..<headDim { o[e] = Float(acc[e]) }
            }
        }
    }

    // MARK: norms

    /// LayerNorm per row: (x - mean) / sqrt(var + eps) * weight + bias, biased variance.
    public static func layerNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int,
                                 weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float,
                                 out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * dim, o = out + r * dim
            var mean = 0.0
            for i in 0..<dim { mean += Double(xr[i]) }
            mean /= Double(dim)
            var v = 0.0
            for i in 0..<dim { let d = Double(xr[i]) - mean; v += d * d }
            v /= Double(dim)
            let inv = 1 / (v + Double(eps)).squareRoot()
            for i in 0..<dim {
                var y = (Double(xr[i]) - mean) * inv
                if let weight { y *= Double(weight[i]) }
                if let bias { y += Double(bias[i]) }
                o[i] = Float(y)
            }
        }
    }

    /// out = x * scale * (mean(x²) + eps)^-1/2 per row.
    public static func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int,
                               scale: UnsafePointer<Float>?, eps: Float, out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * dim, o = out + r * dim
            var ss = 0.0
            for i in 0..<dim { ss += Double(xr[i]) * Double(xr[i]) }
            let inv = 1 / (ss / Double(dim) + Double(eps)).squareRoot()
            for i in 0..<dim {
                var y = Double(xr[i]) * inv
                if let scale { y *= Double(scale[i]) }
                o[i] = Float(y)
            }
        }
    }

    /// NHWC GroupNorm: statistics per group over pixels × (channels/groups), biased variance.
    public static func groupNorm(_ x: UnsafePointer<Float>, pixels: Int, channels: Int, groups: Int,
                                 weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float,
                                 silu: Bool, out: UnsafeMutablePointer<Float>) {
        let cpg = channels / groups
        let count = Double(pixels * cpg)
        for g in 0..<groups {
            var mean = 0.0
            for p in 0..<pixels { for c in g * cpg..<(g + 1) * cpg { mean += Double(x[p * channels + c]) } }
            mean /= count
            var v = 0.0
            for p in 0..<pixels {
                for c in g * cpg..<(g + 1) * cpg { let d = Double(x[p * channels + c]) - mean; v += d * d }
            }
            v /= count
            let inv = 1 / (v + Double(eps)).squareRoot()
            for p in 0..<pixels {
                for c in g * cpg..<(g + 1) * cpg {
                    var y = (Double(x[p * channels + c]) - mean) * inv * Double(weight[c]) + Double(bias[c])
                    if silu { y = y / (1 + Foundation.exp(-y)) }
                    out[p * channels + c] = Float(y)
                }
            }
        }
    }

    // MARK: head-wise ops

    /// x_h <- x_h * sqrt(scales[h]) / sqrt(Σ x_h² + eps).
    public static func cosineScaleHeads(_ x: UnsafeMutablePointer<Float>, rows: Int, stride: Int,
                                        heads: Int, headDim: Int, scales: UnsafePointer<Float>, eps: Float) {
        for r in 0..<rows {
            for h in 0..<heads {
                let p = x + r * stride + h * headDim
                var ss = 0.0
                for e in 0..<headDim { ss += Double(p[e]) * Double(p[e]) }
                let f = Double(scales[h]).squareRoot() / (ss + Double(eps)).squareRoot()
                for e in 0..<headDim { p[e] = Float(Double(p[e]) * f) }
            }
        }
    }

    /// a' = a cos - b sin, b' = b cos + a sin on the first 2*angles dims of every head.
    public static func ropeHeads(_ x: UnsafeMutablePointer<Float>, rows: Int, stride: Int, heads: Int,
                                 headDim: Int, angles: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        for r in 0..<rows {
            for h in 0..<heads {
                let p = x + r * stride + h * headDim
                let cs = cos + (r * heads + h) * angles, sn = sin + (r * heads + h) * angles
                for i in 0..<angles {
                    let a = Double(p[i]), b = Double(p[angles + i])
                    let c = Double(cs[i]), s = Double(sn[i])
                    p[i] = Float(a * c - b * s)
                    p[angles + i] = Float(b * c + a * s)
                }
            }
        }
    }

    // MARK: elementwise

    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = Float(geluD(Double(x[i]))) }
    }

    public static func silu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { let d = Double(x[i]); x[i] = Float(d / (1 + Foundation.exp(-d))) }
    }

    public static func swiglu(_ x: UnsafePointer<Float>, rows: Int, hidden: Int, out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            for j in 0..<hidden {
                let a = Double(x[r * 2 * hidden + j]), g = Double(x[r * 2 * hidden + hidden + j])
                out[r * hidden + j] = Float(a * g / (1 + Foundation.exp(-g)))
            }
        }
    }

    public static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int,
                           out: UnsafeMutablePointer<Float>) {
        for i in 0..<count { out[i] = a[i] + b[i] }
    }

    // MARK: convolution and resampling

    /// Direct 3×3 convolution, stride 1, zero padding 1, NHWC, weight [cout, 3, 3, cin].
    /// W8A8: every input pixel (its cin channels) is quantized with `quantizeRow`;
    /// each tap contributes Int32 Σ q_x q_w times the pixel's scale, times the weight row scale.
    public static func conv3x3(_ x: UnsafePointer<Float>, height: Int, width: Int, inChannels: Int,
                               _ w: WeightMatrix, bias: UnsafePointer<Float>?,
                               out: UnsafeMutablePointer<Float>, mode: MatrixMode) {
        let cin = inChannels, cout = w.n
        precondition(w.k == 9 * cin, "conv3x3: weight k must be 9 * inChannels")
        var useInt = false
        if case .i8 = w.storage, mode == .w8a8 { useInt = true }
        let pixels = height * width
        let qx = UnsafeMutablePointer<Int8>.allocate(capacity: max(pixels * cin, 1))
        var sx = [Float](repeating: 0, count: pixels)
        defer { qx.deallocate() }
        if useInt { for p in 0..<pixels { sx[p] = quantizeRow(x + p * cin, count: cin, into: qx + p * cin) } }
        for y in 0..<height {
            for xx in 0..<width {
                for j in 0..<cout {
                    var s = 0.0
                    for ty in 0..<3 {
                        let yy = y + ty - 1
                        if yy < 0 || yy >= height { continue }
                        for tx in 0..<3 {
                            let xs = xx + tx - 1
                            if xs < 0 || xs >= width { continue }
                            let pix = yy * width + xs
                            let wo = j * w.k + (ty * 3 + tx) * cin
                            switch w.storage {
                            case .q4:
                                for c in 0..<cin { s += Double(x[pix * cin + c]) * Double(w.value(j, wo - j * w.k + c)) }
                            case .f32(let wp):
                                for c in 0..<cin { s += Double(x[pix * cin + c]) * Double(wp[wo + c]) }
                            case .i8(let wq, let ws):
                                if useInt {
                                    var acc: Int32 = 0
                                    for c in 0..<cin { acc += Int32(qx[pix * cin + c]) * Int32(wq[wo + c]) }
                                    s += Double(acc) * Double(sx[pix]) * Double(ws[j])
                                } else {
                                    var t = 0.0
                                    for c in 0..<cin { t += Double(x[pix * cin + c]) * Double(wq[wo + c]) }
                                    s += t * Double(ws[j])
                                }
                            }
                        }
                    }
                    if let bias { s += Double(bias[j]) }
                    out[(y * width + xx) * cout + j] = Float(s)
                }
            }
        }
    }

    public static func upsampleNearest2x(_ x: UnsafePointer<Float>, height: Int, width: Int, channels: Int,
                                         out: UnsafeMutablePointer<Float>) {
        for y in 0..<2 * height {
            for xx in 0..<2 * width {
                for c in 0..<channels {
                    out[(y * 2 * width + xx) * channels + c] = x[((y / 2) * width + xx / 2) * channels + c]
                }
            }
        }
    }

    /// Bilinear, align_corners = false, no antialias: source coordinate
    /// c = max((i + 0.5) * in/out - 0.5, 0), taps ⌊c⌋ and min(⌊c⌋ + 1, in - 1).
    public static func resizeBilinear(_ x: UnsafePointer<Float>, height: Int, width: Int, channels: Int,
                                      out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int) {
        let ty = bilinearTaps(input: height, output: outHeight)
        let tx = bilinearTaps(input: width, output: outWidth)
        applyTaps(x, width: width, channels: channels, ty: ty, tx: tx,
                  out: out, outHeight: outHeight, outWidth: outWidth)
    }

    /// out[oy, ox, c] = Σ over the taps of both axes wy · wx · x[yi, xi, c], in Double
    /// (x: [height, width, channels], out: [outHeight, outWidth, channels], HWC).
    static func applyTaps(_ x: UnsafePointer<Float>, width: Int, channels: Int,
                          ty: [[(Int, Double)]], tx: [[(Int, Double)]],
                          out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int) {
        for oy in 0..<outHeight {
            for ox in 0..<outWidth {
                for c in 0..<channels {
                    var s = 0.0
                    for (yi, wy) in ty[oy] {
                        for (xi, wx) in tx[ox] { s += wy * wx * Double(x[(yi * width + xi) * channels + c]) }
                    }
                    out[(oy * outWidth + ox) * channels + c] = Float(s)
                }
            }
        }
    }

    /// (index, weight) pairs of bilinear interpolation along one axis, in Double.
    public static func bilinearTaps(input: Int, output: Int) -> [[(Int, Double)]] {
        let scale = Double(input) / Double(output)
        return (0..<output).map { i in
            let c = max((Double(i) + 0.5) * scale - 0.5, 0)
            let i0 = min(Int(c.rounded(.down)), input - 1)
            let i1 = min(i0 + 1, input - 1)
            let f = c - Double(i0)
            return [(i0, 1 - f), (i1, f)]
        }
    }

    /// PyTorch-style antialiased bicubic (a = -0.5), separable: support 2·max(s, 1) with
    /// s = in/out; taps ⌊center − support + 0.5⌋ … ⌊center + support + 0.5⌋ − 1 clipped to
    /// the input, weights cubic((j − center + 0.5) / max(s, 1)) normalized to sum 1.
    public static func resizeBicubicAA(_ x: UnsafePointer<Float>, height: Int, width: Int, channels: Int,
                                       out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int) {
        let ty = bicubicAATaps(input: height, output: outHeight)
        let tx = bicubicAATaps(input: width, output: outWidth)
        applyTaps(x, width: width, channels: channels, ty: ty, tx: tx,
                  out: out, outHeight: outHeight, outWidth: outWidth)
    }

    /// The cubic convolution kernel with a = -0.5.
    public static func cubic(_ x: Double) -> Double {
        let a = -0.5, t = abs(x)
        if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
        if t < 2 { return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a }
        return 0
    }

    /// (index, weight) taps of the antialiased bicubic filter along one axis, in Double.
    public static func bicubicAATaps(input: Int, output: Int) -> [[(Int, Double)]] {
        let scale = Double(input) / Double(output)
        let support = 2 * max(scale, 1)
        let invScale = 1 / max(scale, 1)
        return (0..<output).map { i in
            let center = scale * (Double(i) + 0.5)
            let lo = max(Int((center - support + 0.5).rounded(.down)), 0)
            let hi = min(Int((center + support + 0.5).rounded(.down)), input)
            var taps: [(Int, Double)] = []
            var total = 0.0
            for j in lo..<max(hi, lo) {
                let wgt = cubic((Double(j) - center + 0.5) * invScale)
                taps.append((j, wgt)); total += wgt
            }
            if total != 0 { taps = taps.map { ($0.0, $0.1 / total) } }
            return taps
        }
    }
}

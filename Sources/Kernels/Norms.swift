// LayerNorm, RMSNorm (AdaRMSNorm via its scale), GroupNorm (NHWC), and head-wise ops.
// Row statistics use SIMD16 float accumulators summed by a fixed tree, so every row is
// computed the same way wherever it lies.

/// Σ x[i] by 16 lanes, then the fixed tree. (Variances are taken around the mean in a
/// second pass, `rowSquares`, rather than from Σ x².)
@inline(__always)
private func rowSum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var s = SIMD16<Float>()
    var i = 0
    while i + 16 <= n { s += load16(x + i); i += 16 }
    if i < n { s += loadPartial(x + i, n - i) }
    return hsum(s)
}

/// Σ (x[i] − c)².
@inline(__always)
private func rowSquares(_ x: UnsafePointer<Float>, _ n: Int, around c: Float) -> Float {
    var s = SIMD16<Float>()
    let cv = SIMD16<Float>(repeating: c)
    var i = 0
    while i + 16 <= n { let d = load16(x + i) - cv; s.addMul(d, d); i += 16 }
    if i < n {
        let d = (loadPartial(x + i, n - i, fill: c) - cv)
        s.addMul(d, d)
    }
    return hsum(s)
}

/// Runs `body` over [0, rows): split across ctx's threads when there are enough rows for
/// the hand-off (≈ 1 µs) to pay, else on the calling thread. Each row is computed the same
/// way wherever it runs.
@inline(__always)
func forRows(_ rows: Int, _ ctx: ComputeContext?, _ body: (Range<Int>) -> Void) {
    if let ctx, ctx.threads > 1, rows >= 32 { ctx.parallelFor(rows, body) } else { body(0..<rows) }
}

/// LayerNorm per row (biased variance): (x - mean)/sqrt(var + eps) * weight + bias.
/// x, out: [rows, dim] (in place allowed). weight, bias: [dim] or nil (= 1, 0).
/// ctx: split the rows across its threads (nil: the calling thread).
public func layerNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int,
                      weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float,
                      out: UnsafeMutablePointer<Float>, ctx: ComputeContext? = nil) {
    if dim == 0 { return }
    forRows(rows, ctx) { range in for r in range {
        let xr = x + r * dim, o = out + r * dim
        let mean = rowSum(xr, dim) / Float(dim)
        let variance = rowSquares(xr, dim, around: mean) / Float(dim)
        let inv = 1 / (variance + eps).squareRoot()
        let mv = SIMD16<Float>(repeating: mean)
        var i = 0
        while i < dim {
            let cnt = min(16, dim - i)
            var y = ((cnt == 16 ? load16(xr + i) : loadPartial(xr + i, cnt)) - mv) * inv
            if let weight { y *= cnt == 16 ? load16(weight + i) : loadPartial(weight + i, cnt) }
            if let bias { y += cnt == 16 ? load16(bias + i) : loadPartial(bias + i, cnt) }
            if cnt == 16 { store16(y, o + i) } else { storePartial(y, o + i, cnt) }
            i += 16
        }
    } }
}

/// out = x * scale * (mean(x^2) + eps)^-1/2 ; scale may be nil (=1). AdaRMSNorm passes (1 + L(cond)).
/// x, out: [rows, dim] (in place allowed). scale: [dim]. ctx: as in `layerNorm`.
public func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int,
                    scale: UnsafePointer<Float>?, eps: Float, out: UnsafeMutablePointer<Float>,
                    ctx: ComputeContext? = nil) {
    if dim == 0 { return }
    forRows(rows, ctx) { range in for r in range {
        let xr = x + r * dim, o = out + r * dim
        let inv = 1 / (rowSquares(xr, dim, around: 0) / Float(dim) + eps).squareRoot()
        var i = 0
        while i < dim {
            let cnt = min(16, dim - i)
            var y = (cnt == 16 ? load16(xr + i) : loadPartial(xr + i, cnt)) * inv
            if let scale { y *= cnt == 16 ? load16(scale + i) : loadPartial(scale + i, cnt) }
            if cnt == 16 { store16(y, o + i) } else { storePartial(y, o + i, cnt) }
            i += 16
        }
    } }
}

/// Pixels per GroupNorm statistics chunk (fixed, so partial sums never depend on threads).
private let gnChunk = 64

/// NHWC GroupNorm over [pixels, channels]; statistics per group over pixels x (channels/groups);
/// optional fused SiLU after the affine. weight, bias: [channels]. In place allowed.
///
/// Statistics: per channel, sums of (x − x[0, c]) and its square over fixed chunks of 64
/// pixels in float, chunks combined in Double; shifting by the first pixel keeps a
/// constant group exactly at variance 0 and avoids cancellation when |mean| ≫ std.
public func groupNorm(_ x: UnsafePointer<Float>, pixels: Int, channels: Int, groups: Int,
                      weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float,
                      silu: Bool, out: UnsafeMutablePointer<Float>, ctx: ComputeContext) {
    precondition(groups > 0 && channels % groups == 0, "groupNorm: channels must be a multiple of groups")
    let c = channels, cpg = channels / groups
    if pixels == 0 || c == 0 { return }
    let chunks = (pixels + gnChunk - 1) / gnChunk
    // prep arena: partial sums [chunks][2][c], then per-channel (a, b) of the affine
    let prep = ctx.prepArena().buffer(bytes: (chunks * 2 * c + 2 * c) * 4 + 64)
    let partial = prep.bindMemory(to: Float.self, capacity: chunks * 2 * c + 2 * c)
    let mulC = partial + chunks * 2 * c, meanC = mulC + c
    // 1. per-chunk, per-channel shifted sums
    ctx.parallelFor(chunks) { range in
        for ch in range {
            let s1 = partial + ch * 2 * c, s2 = s1 + c
            s1.initialize(repeating: 0, count: 2 * c)
            for p in (ch * gnChunk)..<min(pixels, (ch + 1) * gnChunk) {
                let row = x + p * c
                var j = 0
                while j < c {
                    let cnt = min(16, c - j)
                    let d = cnt == 16 ? load16(row + j) - load16(x + j)
                                      : loadPartial(row + j, cnt) - loadPartial(x + j, cnt)
                    var a = cnt == 16 ? load16(s1 + j) : loadPartial(s1 + j, cnt)
                    var b = cnt == 16 ? load16(s2 + j) : loadPartial(s2 + j, cnt)
                    a += d; b.addMul(d, d)
                    if cnt == 16 { store16(a, s1 + j); store16(b, s2 + j) } else {
                        storePartial(a, s1 + j, cnt); storePartial(b, s2 + j, cnt)
                    }
                    j += 16
                }
            }
        }
    }
    // 2. per group: mean and variance in Double, then each channel's scale and mean
    let n = Double(pixels)
    // per-channel sums of one group, [2, cpg] doubles (temporary, stack-sized for real widths)
    withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * cpg) { sums in
        let s1 = sums.baseAddress!, s2 = s1 + cpg
        for g in 0..<groups {
            s1.update(repeating: 0, count: 2 * cpg)
            for ch in 0..<chunks {
                for j in 0..<cpg {
                    s1[j] += Double(partial[ch * 2 * c + g * cpg + j])
                    s2[j] += Double(partial[ch * 2 * c + c + g * cpg + j])
                }
            }
            var total = 0.0
            for j in 0..<cpg { total += s1[j] + n * Double(x[g * cpg + j]) }
            let mean = total / (n * Double(cpg))
            var ss = 0.0
            for j in 0..<cpg {
                let dk = mean - Double(x[g * cpg + j])          // μ − K_c
                ss += s2[j] - 2 * dk * s1[j] + n * dk * dk
            }
            let variance = max(ss / (n * Double(cpg)), 0)
            let inv = 1 / (variance + Double(eps)).squareRoot()
            for j in 0..<cpg {
                mulC[g * cpg + j] = Float(inv * Double(weight[g * cpg + j]))
                meanC[g * cpg + j] = Float(mean)
            }
        }
    }
    // 3. out = (x − μ) · (inv · w) + b, then SiLU
    ctx.parallelFor(chunks) { range in
        for p in (range.lowerBound * gnChunk)..<min(pixels, range.upperBound * gnChunk) {
            let row = x + p * c, o = out + p * c
            var j = 0
            while j < c {
                let cnt = min(16, c - j)
                let xv = cnt == 16 ? load16(row + j) : loadPartial(row + j, cnt)
                let mv = cnt == 16 ? load16(meanC + j) : loadPartial(meanC + j, cnt)
                let av = cnt == 16 ? load16(mulC + j) : loadPartial(mulC + j, cnt)
                var y = cnt == 16 ? load16(bias + j) : loadPartial(bias + j, cnt)
                y.addMul(xv - mv, av)
                if silu { y = vsilu(y) }
                if cnt == 16 { store16(y, o + j) } else { storePartial(y, o + j, cnt) }
                j += 16
            }
        }
    }
}

/// x_h <- x_h * sqrt(scales[h]) / sqrt(Σ x_h^2 + eps)    (decoder cosine-similarity attention)
/// Head h of row r starts at x + r*stride + h*headDim. scales: [heads]. ctx: as in `layerNorm`.
public func cosineScaleHeads(_ x: UnsafeMutablePointer<Float>, rows: Int, stride: Int,
                             heads: Int, headDim: Int, scales: UnsafePointer<Float>, eps: Float,
                             ctx: ComputeContext? = nil) {
    forRows(rows, ctx) { range in
        for r in range { cosineScaleRow(x + r * stride, heads: heads, headDim: headDim, scales: scales, eps: eps) }
    }
}

/// Rotate the first 2*angles dims of every head: a = x[0..<angles], b = x[angles..<2*angles],
/// a' = a cos - b sin, b' = b cos + a sin. cos/sin: [rows, heads, angles]. ctx: as in `layerNorm`.
public func ropeHeads(_ x: UnsafeMutablePointer<Float>, rows: Int, stride: Int, heads: Int,
                      headDim: Int, angles: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
                      ctx: ComputeContext? = nil) {
    precondition(2 * angles <= headDim, "ropeHeads: 2*angles exceeds headDim")
    forRows(rows, ctx) { range in
        for r in range {
            ropeRow(x + r * stride, heads: heads, headDim: headDim, angles: angles,
                    cos: cos + r * heads * angles, sin: sin + r * heads * angles)
        }
    }
}

/// The decoder's q/k preparation in one pass over the rows: for q (at x) and k (at x + kOffset)
/// of every row, `cosineScaleHeads` then `ropeHeads`, the same arithmetic as the two calls
/// (so the same bits) while each row is in L1, and one hand-off to the threads instead of four.
public func cosineScaleRopeQK(_ x: UnsafeMutablePointer<Float>, kOffset: Int, rows: Int, stride: Int,
                              heads: Int, headDim: Int, scales: UnsafePointer<Float>, eps: Float,
                              angles: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
                              ctx: ComputeContext? = nil) {
    precondition(2 * angles <= headDim, "cosineScaleRopeQK: 2*angles exceeds headDim")
    forRows(rows, ctx) { range in
        for r in range {
            for part in 0..<2 {     // q, then k
                let p = x + r * stride + part * kOffset
                cosineScaleRow(p, heads: heads, headDim: headDim, scales: scales, eps: eps)
                ropeRow(p, heads: heads, headDim: headDim, angles: angles,
                        cos: cos + r * heads * angles, sin: sin + r * heads * angles)
            }
        }
    }
}

/// `cosineScaleHeads` on one row (heads one after the other from p).
@inline(__always)
private func cosineScaleRow(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int,
                            scales: UnsafePointer<Float>, eps: Float) {
    for h in 0..<heads {
        let p = x + h * headDim
        let f = scales[h].squareRoot() / (rowSquares(p, headDim, around: 0) + eps).squareRoot()
        var i = 0
        while i < headDim {
            let cnt = min(16, headDim - i)
            if cnt == 16 { store16(load16(p + i) * f, p + i) } else { storePartial(loadPartial(p + i, cnt) * f, p + i, cnt) }
            i += 16
        }
    }
}

/// `ropeHeads` on one row; cos/sin: this row's [heads, angles].
@inline(__always)
private func ropeRow(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, angles: Int,
                     cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
    for h in 0..<heads {
        let pa = x + h * headDim, pb = pa + angles
        let cs = cos + h * angles, sn = sin + h * angles
        var i = 0
        while i < angles {
            let cnt = min(16, angles - i)
            let full = cnt == 16
            let a = full ? load16(pa + i) : loadPartial(pa + i, cnt)
            let b = full ? load16(pb + i) : loadPartial(pb + i, cnt)
            let c = full ? load16(cs + i) : loadPartial(cs + i, cnt)
            let s = full ? load16(sn + i) : loadPartial(sn + i, cnt)
            let a2 = a * c - b * s, b2 = b * c + a * s
            if full { store16(a2, pa + i); store16(b2, pb + i) } else {
                storePartial(a2, pa + i, cnt); storePartial(b2, pb + i, cnt)
            }
            i += 16
        }
    }
}

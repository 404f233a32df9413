// Image resampling, channels-last [h, w, c] (use c = 1 per plane for planar images).
// Both filters are separable: taps and weights are computed once per axis (in Double,
// stored as Float), then applied along the width into a temporary, then along the height.

/// Bilinear, align_corners = false, no antialias (docs/model.md, 'Image preparation' step 3): output i samples
/// c = max((i + 0.5)·in/out − 0.5, 0) from ⌊c⌋ and min(⌊c⌋ + 1, in − 1).
public func resizeBilinear(_ x: UnsafePointer<Float>, height: Int, width: Int, channels: Int,
                           out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int) {
    separableResize(x, height: height, width: width, channels: channels, out: out,
                    outHeight: outHeight, outWidth: outWidth,
                    taps: { Reference.bilinearTaps(input: $0, output: $1) })
}

/// PyTorch-style antialiased bicubic (a = -0.5), separable (docs/model.md, 'Encoder').
public func resizeBicubicAA(_ x: UnsafePointer<Float>, height: Int, width: Int, channels: Int,
                            out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int) {
    separableResize(x, height: height, width: width, channels: channels, out: out,
                    outHeight: outHeight, outWidth: outWidth,
                    taps: { Reference.bicubicAATaps(input: $0, output: $1) })
}

/// One axis's filter in flat arrays: output i uses taps start[i] ..< start[i + 1].
private struct AxisFilter {
    var index: [Int] = [], weight: [Float] = [], start: [Int] = [0]
    init(_ taps: [[(Int, Double)]]) {
        for t in taps {
            for (i, w) in t { index.append(i); weight.append(Float(w)) }
            start.append(index.count)
        }
    }
}

private func separableResize(_ x: UnsafePointer<Float>, height: Int, width: Int, channels: Int,
                             out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int,
                             taps: (Int, Int) -> [[(Int, Double)]]) {
    let c = channels
    if outHeight == 0 || outWidth == 0 || c == 0 { return }
    precondition(height > 0 && width > 0, "resize: empty input")
    let fx = AxisFilter(taps(width, outWidth)), fy = AxisFilter(taps(height, outHeight))
    // along the width: tmp[y][ox][c]
    var tmp = [Float](repeating: 0, count: height * outWidth * c)
    tmp.withUnsafeMutableBufferPointer { t in
        for y in 0..<height {
            for ox in 0..<outWidth {
                let o = t.baseAddress! + (y * outWidth + ox) * c
                for z in fx.start[ox]..<fx.start[ox + 1] {
                    let src = x + (y * width + fx.index[z]) * c, wgt = fx.weight[z]
                    for ch in 0..<c { o[ch] += wgt * src[ch] }
                }
            }
        }
        // along the height
        let rowLen = outWidth * c
        for oy in 0..<outHeight {
            let o = out + oy * rowLen
            o.initialize(repeating: 0, count: rowLen)
            for z in fy.start[oy]..<fy.start[oy + 1] {
                let src = t.baseAddress! + fy.index[z] * rowLen, wgt = fy.weight[z]
                for i in 0..<rowLen { o[i] += wgt * src[i] }
            }
        }
    }
}

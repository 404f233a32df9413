// LayerNorm, RMSNorm (AdaRMSNorm via its scale), GroupNorm (NHWC), and head-wise ops.

/// LayerNorm per row (biased variance): (x - mean)/sqrt(var + eps) * weight + bias.
/// x, out: [rows, dim] (in place allowed). weight, bias: [dim] or nil (= 1, 0).
public func layerNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int,
                      weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float,
                      out: UnsafeMutablePointer<Float>) {
    Reference.layerNorm(x, rows: rows, dim: dim, weight: weight, bias: bias, eps: eps, out: out)
}

/// out = x * scale * (mean(x^2) + eps)^-1/2 ; scale may be nil (=1). AdaRMSNorm passes (1 + L(cond)).
/// x, out: [rows, dim] (in place allowed). scale: [dim].
public func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int,
                    scale: UnsafePointer<Float>?, eps: Float, out: UnsafeMutablePointer<Float>) {
    Reference.rmsNorm(x, rows: rows, dim: dim, scale: scale, eps: eps, out: out)
}

/// NHWC GroupNorm over [pixels, channels]; statistics per group over pixels x (channels/groups);
/// optional fused SiLU after the affine. weight, bias: [channels]. In place allowed.
public func groupNorm(_ x: UnsafePointer<Float>, pixels: Int, channels: Int, groups: Int,
                      weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float,
                      silu: Bool, out: UnsafeMutablePointer<Float>, ctx: ComputeContext) {
    precondition(groups > 0 && channels % groups == 0, "groupNorm: channels must be a multiple of groups")
    Reference.groupNorm(x, pixels: pixels, channels: channels, groups: groups, weight: weight, bias: bias,
                        eps: eps, silu: silu, out: out)
}

/// x_h <- x_h * sqrt(scales[h]) / sqrt(Σ x_h^2 + eps)    (decoder cosine-similarity attention)
/// Head h of row r starts at x + r*stride + h*headDim. scales: [heads].
public func cosineScaleHeads(_ x: UnsafeMutablePointer<Float>, rows: Int, stride: Int,
                             heads: Int, headDim: Int, scales: UnsafePointer<Float>, eps: Float) {
    Reference.cosineScaleHeads(x, rows: rows, stride: stride, heads: heads, headDim: headDim,
                               scales: scales, eps: eps)
}

/// Rotate the first 2*angles dims of every head: a = x[0..<angles], b = x[angles..<2*angles],
/// a' = a cos - b sin, b' = b cos + a sin. cos/sin: [rows, heads, angles].
public func ropeHeads(_ x: UnsafeMutablePointer<Float>, rows: Int, stride: Int, heads: Int,
                      headDim: Int, angles: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
    precondition(2 * angles <= headDim, "ropeHeads: 2*angles exceeds headDim")
    Reference.ropeHeads(x, rows: rows, stride: stride, heads: heads, headDim: headDim, angles: angles,
                        cos: cos, sin: sin)
}

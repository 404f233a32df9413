// 3×3 convolution as an implicit GEMM over NHWC, and nearest 2× upsampling.

/// 3x3, stride 1, zero padding 1. Implicit GEMM: no full im2col buffer.
/// x: [height, width, inChannels]; weight [cout, 3, 3, cin] as WeightMatrix(n: cout, k: 9*cin);
/// out: [height, width, cout] (must not alias x). bias: [cout].
/// W8A8: each input pixel is quantized on its own (scale = max over its channels / 127).
public func conv3x3(_ x: UnsafePointer<Float>, height: Int, width: Int, inChannels: Int,
                    _ w: WeightMatrix, bias: UnsafePointer<Float>?,
                    out: UnsafeMutablePointer<Float>, mode: MatrixMode, ctx: ComputeContext) {
    precondition(w.k == 9 * inChannels, "conv3x3: weight k must be 9 * inChannels")
    Reference.conv3x3(x, height: height, width: width, inChannels: inChannels, w, bias: bias, out: out, mode: mode)
}

/// out[2y + dy, 2x + dx, c] = x[y, x, c]. x: [height, width, channels]; out: [2h, 2w, channels].
public func upsampleNearest2x(_ x: UnsafePointer<Float>, height: Int, width: Int, channels: Int,
                              out: UnsafeMutablePointer<Float>) {
    Reference.upsampleNearest2x(x, height: height, width: width, channels: channels, out: out)
}

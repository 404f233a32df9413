// Image resampling, channels-last [h, w, c] (use c = 1 per plane for planar images).

/// Bilinear, align_corners = false, no antialias (spec §4 step 3).
public func resizeBilinear(_ x: UnsafePointer<Float>, height: Int, width: Int, channels: Int,
                           out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int) {
    Reference.resizeBilinear(x, height: height, width: width, channels: channels,
                             out: out, outHeight: outHeight, outWidth: outWidth)
}

/// PyTorch-style antialiased bicubic (a = -0.5), separable (spec §5).
public func resizeBicubicAA(_ x: UnsafePointer<Float>, height: Int, width: Int, channels: Int,
                            out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int) {
    Reference.resizeBicubicAA(x, height: height, width: width, channels: channels,
                              out: out, outHeight: outHeight, outWidth: outWidth)
}

// Multi-head softmax attention with a streaming softmax.

/// Multi-head attention, memory O(tokens * headDim) per thread (streaming softmax).
/// For head h and query t: out[t, h*d ..< (h+1)*d] = Σ_s softmax_s(scale * q_t·k_s) v_s
/// q row t of head h starts at q + t*qStride + h*headDim (same for k, v, out).
public func attention(q: UnsafePointer<Float>, qStride: Int,
                      k: UnsafePointer<Float>, kStride: Int,
                      v: UnsafePointer<Float>, vStride: Int,
                      out: UnsafeMutablePointer<Float>, outStride: Int,
                      tokens: Int, heads: Int, headDim: Int, scale: Float, ctx: ComputeContext) {
    ctx.parallelFor(heads) { hs in
        for h in hs {
            Reference.attention(q: q + h * headDim, qStride: qStride, k: k + h * headDim, kStride: kStride,
                                v: v + h * headDim, vStride: vStride, out: out + h * headDim,
                                outStride: outStride, tokens: tokens, heads: 1, headDim: headDim, scale: scale)
        }
    }
}

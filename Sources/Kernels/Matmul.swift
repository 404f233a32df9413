// C = A·Wᵀ with int8 or float32 weights, and a plain float32 GEMM.

/// C[i, j] (= or +=) colScale[j] * act( Σ_p A[i, p] * W[j, p] + bias[j] )
/// A: [m, k] with row stride lda; C: [m, n] with row stride ldc. bias, colScale: [n].
public func matmul(_ a: UnsafePointer<Float>, lda: Int, m: Int,
                   _ w: WeightMatrix, bias: UnsafePointer<Float>?,
                   activation: Activation = .none, colScale: UnsafePointer<Float>? = nil,
                   accumulate: Bool = false,
                   into c: UnsafeMutablePointer<Float>, ldc: Int,
                   mode: MatrixMode = .w8a32, ctx: ComputeContext) {
    ctx.parallelFor(m) { rows in
        Reference.matmul(a + rows.lowerBound * lda, lda: lda, m: rows.count, w, bias: bias,
                         activation: activation, colScale: colScale, accumulate: accumulate,
                         into: c + rows.lowerBound * ldc, ldc: ldc, mode: mode)
    }
}

/// Plain float GEMM C[m,n] = alpha * A[m,k] · B[k,n] (+ C if accumulate) -- for small float work.
public func sgemm(m: Int, n: Int, k: Int, alpha: Float,
                  a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int, ctx: ComputeContext) {
    ctx.parallelFor(m) { rows in
        Reference.sgemm(m: rows.count, n: n, k: k, alpha: alpha, a: a + rows.lowerBound * lda, lda: lda,
                        b: b, ldb: ldb, accumulate: accumulate, c: c + rows.lowerBound * ldc, ldc: ldc)
    }
}

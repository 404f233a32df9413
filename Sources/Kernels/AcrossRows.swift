// A two-layer perceptron applied across a few rows, column by column: the token mixing of an
// MLP-Mixer whose sequence is only a few rows long (the generator's 3), where a GEMM would
// see thousands of rows of length 3 and spend its time packing, in epilogues and in
// transposes rather than in the 54 multiply-adds per column.

/// The weights of one small product [n, k] as floats, plus the row scales of int8 storage
/// (nil for float and int4 storage, whose values are already the weights).
public struct SmallDense {
    public let n: Int, k: Int
    let values: [Float]
    let scales: [Float]?
    let bias: [Float]?

    /// Copies `w` (any storage) and its bias [n] (nil: none).
    public init(_ w: WeightMatrix, bias: UnsafePointer<Float>?) {
        let n = w.n, k = w.k
        self.n = n; self.k = k
        var v = [Float](repeating: 0, count: n * k)
        switch w.storage {
        case .f32(let p):
            for i in 0..<n * k { v[i] = p[i] }
            scales = nil
        case .i8(let q, let s):
            for i in 0..<n * k { v[i] = Float(q[i]) }
            scales = (0..<n).map { s[$0] }
        case .q4(let raw):
            v.withUnsafeMutableBufferPointer { dequantizeQ4(raw, n: n, k: k, into: $0.baseAddress!) }
            scales = nil
        }
        values = v
        self.bias = bias.map { b in (0..<n).map { b[$0] } }
    }
}

/// For every group g and column j, the `rows` values v_i = a[g·rows + i, j] go through
///     h_e = act((Σ_i v_i · W1[e, i]) · s1[e] + b1[e])        e < W1.n
///     y_i = (Σ_e h_e · W2[i, e]) · s2[i] + b2[i]             i < rows
/// and out[g·rows + i, j] += y_i.
///
/// The arithmetic is the panel GEMM's, step for step: each sum is a chain of fused
/// multiply-adds in index order starting from 0, then × the row scale, then + the bias, then
/// the activation (`Epilogue.transform`), and the final `+=` is one float addition. So the
/// result equals two `matmul` calls on the transposed rows followed by the add-back, bit for
/// bit, without the transposes.
/// - Parameters:
///   - a: [groups · rows, cols] with row stride lda (the normalized input).
///   - out: [groups · rows, cols] with row stride ldo; may not overlap a.
///   - w1: [hidden, rows]; w2: [rows, hidden]. rows ≤ 8, hidden ≤ 64.
public func mlpAcrossRows(_ a: UnsafePointer<Float>, lda: Int, groups: Int, rows: Int, cols: Int,
                          w1: SmallDense, activation: Activation, w2: SmallDense,
                          addInto out: UnsafeMutablePointer<Float>, ldo: Int, ctx: ComputeContext) {
    let hidden = w1.n
    precondition(w1.k == rows && w2.n == rows && w2.k == hidden && rows <= 8 && hidden <= 64,
                 "mlpAcrossRows: weights [\(w1.n), \(w1.k)] and [\(w2.n), \(w2.k)] do not fit \(rows) rows")
    precondition(lda >= cols && ldo >= cols, "mlpAcrossRows: bad strides")
    let chunks = (cols + 15) / 16
    w1.values.withUnsafeBufferPointer { v1 in
    w2.values.withUnsafeBufferPointer { v2 in
        ctx.parallelFor(groups * chunks) { range in
            for t in range {
                let g = t / chunks, j = (t % chunks) * 16, cnt = min(16, cols - j)
                let base = a + g * rows * lda + j
                // the group's input rows at these columns, and the output sums (8 vectors each)
                var xs = (SIMD16<Float>.zero, SIMD16<Float>.zero, SIMD16<Float>.zero, SIMD16<Float>.zero,
                          SIMD16<Float>.zero, SIMD16<Float>.zero, SIMD16<Float>.zero, SIMD16<Float>.zero)
                var ys = xs
                withUnsafeMutableBytes(of: &xs) { xr in
                withUnsafeMutableBytes(of: &ys) { yr in
                    let xv = xr.bindMemory(to: SIMD16<Float>.self), yv = yr.bindMemory(to: SIMD16<Float>.self)
                    for i in 0..<rows {
                        xv[i] = cnt == 16 ? load16(base + i * lda) : loadPartial(base + i * lda, cnt)
                    }
                    for e in 0..<hidden {
                        var s = SIMD16<Float>.zero
                        for i in 0..<rows { s = s.addingMul(xv[i], SIMD16(repeating: v1[e * rows + i])) }
                        if let sc = w1.scales { s *= SIMD16(repeating: sc[e]) }
                        if let b = w1.bias { s += SIMD16(repeating: b[e]) }
                        let h = activation.apply(s)
                        for i in 0..<rows { yv[i] = yv[i].addingMul(h, SIMD16(repeating: v2[i * hidden + e])) }
                    }
                    for i in 0..<rows {
                        var y = yv[i]
                        if let sc = w2.scales { y *= SIMD16(repeating: sc[i]) }
                        if let b = w2.bias { y += SIMD16(repeating: b[i]) }
                        let o = out + (g * rows + i) * ldo + j
                        if cnt == 16 { store16(load16(o) + y, o) } else { storePartial(loadPartial(o, cnt) + y, o, cnt) }
                    }
                }
                }
            }
        }
    }
    }
}

import XCTest
import Kernels
import TestSupport

/// `mlpAcrossRows` against the route it replaces (transpose, two float `matmul`s, add back),
/// bit for bit on every level, and against a float64 evaluation.
final class AcrossRowsTests: XCTestCase {
    struct Case { let groups, rows, hidden, cols: Int; let int8: Bool }

    static let cases: [Case] = [1, 15, 16, 17, 37, 64].flatMap { cols in
        [Case(groups: 2, rows: 3, hidden: 9, cols: cols, int8: true),
         Case(groups: 1, rows: 3, hidden: 9, cols: cols, int8: false),
         Case(groups: 3, rows: 2, hidden: 5, cols: cols, int8: true)]
    }

    /// Weights [n, k] of the case's storage, with their float values (q · scale, or the floats).
    struct Weights {
        var q: [Int8], scales: [Float], f: [Float], bias: [Float]
        let n: Int, k: Int, int8: Bool
        init(n: Int, k: Int, int8: Bool, rng: inout TestRNG) {
            self.n = n; self.k = k; self.int8 = int8
            q = rng.int8s(n * k)
            scales = (0..<n).map { _ in 0.002 + 0.01 * abs(rng.float()) }
            f = rng.floats(n * k, scale: 0.5)
            bias = rng.floats(n, scale: 0.5)
        }
        func value(_ j: Int, _ p: Int) -> Double { int8 ? Double(q[j * k + p]) * Double(scales[j]) : Double(f[j * k + p]) }
        func with<R>(_ body: (WeightMatrix, SmallDense) -> R) -> R {
            q.withUnsafeBufferPointer { qp in scales.withUnsafeBufferPointer { sp in
            f.withUnsafeBufferPointer { fp in bias.withUnsafeBufferPointer { bp in
                let w = int8 ? WeightMatrix(i8: qp.baseAddress!, scales: sp.baseAddress!, n: n, k: k)
                             : WeightMatrix(f32: fp.baseAddress!, n: n, k: k)
                return body(w, SmallDense(w, bias: bp.baseAddress!))
            } } } }
        }
    }

    /// The old route: nT[g·cols + j, i] = a[g·rows + i, j]; h = GELU(nT W1ᵀ + b1); y = h W2ᵀ + b2;
    /// out[g·rows + i, j] += y[g·cols + j, i].
    func viaMatmul(_ a: [Float], _ out: inout [Float], ldo: Int, _ c: Case, _ w1: Weights, _ w2: Weights,
                   ctx: ComputeContext) {
        let m = c.groups * c.cols
        var nT = [Float](repeating: 0, count: m * c.rows)
        for g in 0..<c.groups { for i in 0..<c.rows { for j in 0..<c.cols {
            nT[(g * c.cols + j) * c.rows + i] = a[(g * c.rows + i) * c.cols + j]
        } } }
        var h = [Float](repeating: 0, count: m * c.hidden), y = [Float](repeating: 0, count: m * c.rows)
        w1.with { m1, _ in w1.bias.withUnsafeBufferPointer { b1 in
            matmul(nT, lda: c.rows, m: m, m1, bias: b1.baseAddress, activation: .gelu, into: &h, ldc: c.hidden, ctx: ctx)
        } }
        w2.with { m2, _ in w2.bias.withUnsafeBufferPointer { b2 in
            matmul(h, lda: c.hidden, m: m, m2, bias: b2.baseAddress, into: &y, ldc: c.rows, ctx: ctx)
        } }
        for g in 0..<c.groups { for i in 0..<c.rows { for j in 0..<c.cols {
            out[(g * c.rows + i) * ldo + j] += y[(g * c.cols + j) * c.rows + i]
        } } }
    }

    func testMatchesTheMatmulRouteBitForBitOnEveryLevel() {
        var rng = TestRNG(77)
        for ctx in levelContexts() {
            for c in Self.cases {
                let w1 = Weights(n: c.hidden, k: c.rows, int8: c.int8, rng: &rng)
                let w2 = Weights(n: c.rows, k: c.hidden, int8: c.int8, rng: &rng)
                let a = rng.floats(c.groups * c.rows * c.cols, scale: 2)
                let ldo = c.cols + 3, sentinel: Float = -7777
                var start = [Float](repeating: sentinel, count: c.groups * c.rows * ldo)
                for r in 0..<c.groups * c.rows { for j in 0..<c.cols { start[r * ldo + j] = rng.float() } }
                var expected = start
                viaMatmul(a, &expected, ldo: ldo, c, w1, w2, ctx: ctx)
                var got = start
                w1.with { _, d1 in w2.with { _, d2 in
                    mlpAcrossRows(a, lda: c.cols, groups: c.groups, rows: c.rows, cols: c.cols, w1: d1,
                                  activation: .gelu, w2: d2, addInto: &got, ldo: ldo, ctx: ctx)
                } }
                let what = "\(ctx.isa) \(c)"
                XCTAssertTrue(bitsEqual(got, expected), "\(what): differs from the matmul route by \(maxAbs(got, expected))")
                for r in 0..<c.groups * c.rows { for j in c.cols..<ldo {
                    XCTAssertEqual(got[r * ldo + j], sentinel, "\(what): wrote past the columns")
                } }
                // float64: two short sums and one GELU per value, each a few ulp of float
                for g in 0..<c.groups { for j in 0..<c.cols {
                    let hs = (0..<c.hidden).map { e -> Double in
                        let s = (0..<c.rows).reduce(0.0) { $0 + Double(a[(g * c.rows + $1) * c.cols + j]) * w1.value(e, $1) }
                        return Reference.geluD(s + Double(w1.bias[e]))
                    }
                    for i in 0..<c.rows {
                        let y = (0..<c.hidden).reduce(0.0) { $0 + hs[$1] * w2.value(i, $1) } + Double(w2.bias[i])
                        let ref = Double(start[(g * c.rows + i) * ldo + j]) + y
                        XCTAssertEqual(Double(got[(g * c.rows + i) * ldo + j]), ref, accuracy: 1e-5 * max(1, abs(ref)), what)
                    }
                } }
            }
        }
    }
}
